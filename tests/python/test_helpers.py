# SPDX-License-Identifier: Apache-2.0
"""parse_quantity, LabelSelector, load_yaml, set_log_level."""
from decimal import Decimal

import pytest

import libkube


@pytest.mark.parametrize("text,value", [
    ("1500m", Decimal("1.5")),
    ("1", Decimal(1)),
    ("0.5", Decimal("0.5")),
    ("100m", Decimal("0.1")),
    ("1Ki", Decimal(1024)),
    ("1.5Gi", Decimal(1610612736)),
    ("2k", Decimal(2000)),
    ("1e3", Decimal(1000)),
    ("5E-3", Decimal("0.005")),
    ("-1", Decimal(-1)),
    ("1n", Decimal("0.000000001")),
    ("7Ei", Decimal(7 * 2 ** 60)),
    (".5", Decimal("0.5")),
])
def test_parse_quantity(text, value):
    q = libkube.parse_quantity(text)
    assert isinstance(q, Decimal)
    assert q == value


@pytest.mark.parametrize("bad", ["", "abc", "1Zi", "1.2.3", "--1", "1 m"])
def test_parse_quantity_errors(bad):
    with pytest.raises(ValueError):
        libkube.parse_quantity(bad)


@pytest.mark.parametrize("bad", [None, 1, b"1", ["1"]])
def test_parse_quantity_types(bad):
    with pytest.raises(TypeError, match="must be a str"):
        libkube.parse_quantity(bad)


def test_parse_quantity_nul():
    with pytest.raises(ValueError, match="NUL"):
        libkube.parse_quantity("1\0m")


def test_label_selector():
    s = libkube.LabelSelector("app=web,tier in (b,a),!canary")
    assert str(s) == "app=web,!canary,tier in (a,b)"
    assert repr(s) == "LabelSelector('app=web,!canary,tier in (a,b)')"
    assert not s.empty
    assert s.matches({"app": "web", "tier": "a"})
    assert not s.matches({"app": "web", "tier": "c"})
    assert not s.matches({"app": "web", "tier": "a", "canary": "1"})
    assert not s.matches({})
    assert not s.matches(None)
    assert libkube.LabelSelector("").empty
    assert libkube.LabelSelector("").matches({"x": "y"})
    assert libkube.LabelSelector("!a").matches(None)
    gt = libkube.LabelSelector("n>5")
    assert gt.matches({"n": "7"}) and not gt.matches({"n": "3"})


def test_label_selector_mappings():
    from types import MappingProxyType
    s = libkube.LabelSelector("a=1")
    assert s.matches(MappingProxyType({"a": "1"}))


@pytest.mark.parametrize("bad", ["a in b", "=b", "a in (x", "bad key!=1"])
def test_label_selector_errors(bad):
    with pytest.raises(ValueError):
        libkube.LabelSelector(bad)


def test_label_selector_types():
    with pytest.raises(TypeError):
        libkube.LabelSelector(5)
    with pytest.raises(TypeError):
        libkube.LabelSelector()
    s = libkube.LabelSelector("a=1")
    with pytest.raises(TypeError, match="mapping"):
        s.matches(["a"])
    with pytest.raises(TypeError, match="must be a str"):
        s.matches({"a": 1})
    with pytest.raises(TypeError):
        s.matches()


def test_load_yaml():
    docs = libkube.load_yaml(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
        "data: {num: '1', b: 'true'}\n"
        "---\n"
        "---\n"
        "apiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: Pod, metadata: {name: p}}\n"
        "- {apiVersion: v1, kind: Service, metadata: {name: s}}\n")
    assert [d["kind"] for d in docs] == ["ConfigMap", "Pod", "Service"]
    assert docs[0]["data"] == {"num": "1", "b": "true"}
    assert libkube.load_yaml(b'{"kind": "Pod", "spec": {"x": [1, 2.5, null]}}') == \
        [{"kind": "Pod", "spec": {"x": [1, 2.5, None]}}]
    assert libkube.load_yaml("") == []


def test_load_yaml_errors():
    with pytest.raises(ValueError):
        libkube.load_yaml("a: [1, 2\n")
    with pytest.raises(ValueError):
        libkube.load_yaml("- just\n- a list\n")
    with pytest.raises(TypeError):
        libkube.load_yaml(None)
    with pytest.raises(TypeError):
        libkube.load_yaml(3)


def test_set_log_level():
    libkube.set_log_level("error")
    libkube.set_log_level("warning")
    with pytest.raises(ValueError):
        libkube.set_log_level("loud")
    with pytest.raises(TypeError):
        libkube.set_log_level(1)


def test_module():
    assert libkube.__version__
    assert issubclass(libkube.ApiError, Exception)
    assert issubclass(libkube.Unschedulable, Exception)
    assert libkube.ApiError.code == 0 and libkube.ApiError.status is None
    assert "Server" in libkube.__doc__
    assert libkube.__file__.endswith(".abi3.so")
