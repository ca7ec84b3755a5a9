# SPDX-License-Identifier: Apache-2.0
"""Type stubs of the libkube extension module (bindings/python)."""

import decimal
import os
from types import TracebackType
from typing import (Any, Callable, Dict, Iterator, List, Mapping, Optional,
                    Sequence, Tuple, Type, Union)

__version__: str

Object = Dict[str, Any]
"""A Kubernetes object in the JSON shape of the API."""

PathLike = Union[str, "os.PathLike[str]"]


class ApiError(Exception):
    """An error answer of the API server."""
    code: int
    """The HTTP status: 404, 409, 410, 422, ..."""
    reason: str
    """The Status reason: "NotFound", "AlreadyExists", "Conflict",
    "Invalid", "Expired", ..."""
    status: Object
    """The Status object."""


class Unschedulable(Exception):
    """A pod fits on no node; str() is kube-scheduler's message."""
    reasons: Dict[str, int]
    nominated_node: Optional[str]
    victims: List[str]


class Watch(Iterator[Object]):
    """Events {"type": "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK",
    "object": dict} of Client.watch()."""
    def __iter__(self) -> "Watch": ...
    def __next__(self) -> Object: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Watch": ...
    def __exit__(self, t: Optional[Type[BaseException]],
                 v: Optional[BaseException],
                 tb: Optional[TracebackType]) -> bool: ...


class Client:
    """A Kubernetes REST client (kubeconfig: https, http, unix socket), or
    an in-process one from Server.client().  Thread-safe."""
    def __init__(self, kubeconfig: Optional[PathLike] = None,
                 context: Optional[str] = None, *,
                 timeout: Optional[float] = None) -> None: ...
    @property
    def namespace(self) -> str: ...
    @property
    def server(self) -> str: ...
    def get(self, api_version: str, kind: str, name: str,
            namespace: Optional[str] = None) -> Object: ...
    def list(self, api_version: str, kind: str,
             namespace: Optional[str] = None,
             label_selector: Optional[str] = None,
             field_selector: Optional[str] = None,
             limit: Optional[int] = None,
             continue_token: Optional[str] = None,
             resource_version: Optional[str] = None) -> Object: ...
    def create(self, obj: Object, namespace: Optional[str] = None, *,
               dry_run: bool = False,
               field_manager: Optional[str] = None) -> Object: ...
    def replace(self, obj: Object, namespace: Optional[str] = None, *,
                dry_run: bool = False,
                field_manager: Optional[str] = None) -> Object: ...
    def patch(self, api_version: str, kind: str, name: str,
              patch: Union[Object, List[Any], str],
              patch_type: str = "merge",
              namespace: Optional[str] = None,
              subresource: Optional[str] = None, *,
              dry_run: bool = False,
              field_manager: Optional[str] = None) -> Object: ...
    def apply(self, obj: Object, field_manager: str, force: bool = False,
              namespace: Optional[str] = None, *,
              dry_run: bool = False) -> Object: ...
    def delete(self, api_version: str, kind: str, name: str,
               namespace: Optional[str] = None,
               propagation: Optional[str] = None, *,
               grace_period: Optional[int] = None,
               dry_run: bool = False) -> Object: ...
    def watch(self, api_version: str, kind: str,
              namespace: Optional[str] = None,
              resource_version: Optional[str] = None,
              timeout: Optional[int] = None,
              label_selector: Optional[str] = None,
              field_selector: Optional[str] = None) -> Watch: ...
    def logs(self, name: str, namespace: Optional[str] = None,
             container: Optional[str] = None, follow: bool = False,
             tail: Optional[int] = None, previous: bool = False,
             timestamps: bool = False,
             since_seconds: Optional[int] = None,
             limit_bytes: Optional[int] = None) -> Union[str, Watch]: ...
    def exec(self, name: str, command: Sequence[str],
             namespace: Optional[str] = None,
             container: Optional[str] = None,
             stdin: Union[bytes, str, None] = None) -> Tuple[int, str, str]: ...


class Server:
    """A control plane on a thread of this process.  A context manager.

    node: True, or a dict of node options (node_name, node_ip, pod_cidr,
    cni_bridge, cgroup_parent, runtime_root, cni_conf_dir, cni_bin_dir,
    service_cidr, cluster_dns, cluster_domain, resolv_conf: str; max_pods:
    int; kubelet_listen: "ADDR:PORT", the node's HTTPS kubelet port as
    kubed's --kubelet-listen, which needs a "tcp:" listener for the
    cluster CA; API servers of other processes reach the node's pods
    (logs, exec, port-forward) over it)."""
    def __init__(self, data_dir: Optional[PathLike] = None,
                 store: str = "memory",
                 etcd_endpoints: Optional[str] = None,
                 listen: Sequence[str] = (),
                 node: Union[bool, Mapping[str, Union[str, int]]] = False,
                 scheduler: bool = True,
                 controllers: bool = True) -> None: ...
    def client(self, namespace: Optional[str] = None, *,
               timeout: Optional[float] = None) -> Client: ...
    def close(self) -> None: ...
    @property
    def kubeconfig(self) -> Optional[str]: ...
    @property
    def url(self) -> Optional[str]: ...
    @property
    def data_dir(self) -> Optional[str]: ...
    @property
    def running(self) -> bool: ...
    def __enter__(self) -> "Server": ...
    def __exit__(self, t: Optional[Type[BaseException]],
                 v: Optional[BaseException],
                 tb: Optional[TracebackType]) -> bool: ...


class Scheduler:
    """kube-scheduler's placement over nodes and pods you add (no API
    server).  Thread-safe."""
    def __init__(self,
                 config: Union[None, str, Mapping[str, Any]] = None) -> None:
        ...
    def add_node(self, node: Object) -> None: ...
    def update_node(self, node: Object) -> None: ...
    def remove_node(self, name: str) -> None: ...
    def add_pod(self, pod: Object) -> None: ...
    def update_pod(self, pod: Object) -> None: ...
    def remove_pod(self, name: str, namespace: Optional[str] = None) -> None:
        ...
    def schedule(self, pod: Object) -> str: ...
    def schedule_batch(self, pods: Sequence[Object], *,
                       dry_run: bool = False,
                       arrival_order: bool = False
                       ) -> List[Union[str, Unschedulable]]: ...
    @property
    def node_count(self) -> int: ...
    @property
    def pod_count(self) -> int: ...


FileArg = Union[None, int, Any]
"""None (/dev/null), a file descriptor, or an object with fileno()."""


class Runtime:
    """libkube's OCI container runtime (needs root)."""
    def __init__(self, root: Optional[PathLike] = None) -> None: ...
    @property
    def root(self) -> str: ...
    @property
    def cgroup_mode(self) -> str: ...
    def create(self, id: str, bundle: PathLike,
               config: Optional[Object] = None, *,
               stdin: FileArg = None, stdout: FileArg = None,
               stderr: FileArg = None,
               log_path: Optional[PathLike] = None,
               start: bool = False) -> None: ...
    def start(self, id: str) -> None: ...
    def run(self, id: str, bundle: PathLike,
            config: Optional[Object] = None, *,
            stdin: FileArg = None, stdout: FileArg = None,
            stderr: FileArg = None, log_path: Optional[PathLike] = None,
            wait: bool = True) -> Optional[Dict[str, Any]]: ...
    def kill(self, id: str, signal: int = 15, all: bool = False) -> None: ...
    def delete(self, id: str, force: bool = False) -> None: ...
    def state(self, id: str) -> Dict[str, Any]: ...
    def list(self) -> List[str]: ...
    def wait(self, id: str,
             timeout: Optional[float] = None) -> Dict[str, Any]: ...
    def exec(self, id: str, args: Sequence[str], *,
             env: Optional[Sequence[str]] = None,
             cwd: Optional[str] = None,
             user: Optional[Tuple[int, int]] = None,
             stdin: FileArg = None, stdout: FileArg = None,
             stderr: FileArg = None) -> Dict[str, Any]: ...
    def stats(self, id: str) -> Dict[str, int]: ...
    def pause(self, id: str) -> None: ...
    def resume(self, id: str) -> None: ...


class Controller:
    """Informer + rate-limited work queue calling reconcile(key)."""
    def __init__(self, client: Client, api_version: str, kind: str,
                 reconcile: Callable[[str], Optional[float]],
                 namespace: Optional[str] = None,
                 label_selector: Optional[str] = None,
                 workers: int = 1) -> None: ...
    def run(self) -> None: ...
    def stop(self) -> None: ...
    def get(self, key: str) -> Optional[Object]: ...
    @property
    def synced(self) -> bool: ...
    @property
    def reconciled(self) -> int: ...
    @property
    def failed(self) -> int: ...


class LabelSelector:
    """A parsed label selector; str() is its canonical form."""
    def __init__(self, selector: str) -> None: ...
    def matches(self, labels: Optional[Mapping[str, str]]) -> bool: ...
    @property
    def empty(self) -> bool: ...


def parse_quantity(text: str) -> decimal.Decimal: ...
def load_yaml(text: Union[str, bytes]) -> List[Object]: ...
def set_log_level(level: str) -> None: ...
