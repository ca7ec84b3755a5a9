/* SPDX-License-Identifier: Apache-2.0 */
/* Capability names, Docker's default set, and applying sets in the child. */
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "runtime/internal.h"

const char *const rt_cap_names[] = {"CAP_CHOWN",
                                    "CAP_DAC_OVERRIDE",
                                    "CAP_DAC_READ_SEARCH",
                                    "CAP_FOWNER",
                                    "CAP_FSETID",
                                    "CAP_KILL",
                                    "CAP_SETGID",
                                    "CAP_SETUID",
                                    "CAP_SETPCAP",
                                    "CAP_LINUX_IMMUTABLE",
                                    "CAP_NET_BIND_SERVICE",
                                    "CAP_NET_BROADCAST",
                                    "CAP_NET_ADMIN",
                                    "CAP_NET_RAW",
                                    "CAP_IPC_LOCK",
                                    "CAP_IPC_OWNER",
                                    "CAP_SYS_MODULE",
                                    "CAP_SYS_RAWIO",
                                    "CAP_SYS_CHROOT",
                                    "CAP_SYS_PTRACE",
                                    "CAP_SYS_PACCT",
                                    "CAP_SYS_ADMIN",
                                    "CAP_SYS_BOOT",
                                    "CAP_SYS_NICE",
                                    "CAP_SYS_RESOURCE",
                                    "CAP_SYS_TIME",
                                    "CAP_SYS_TTY_CONFIG",
                                    "CAP_MKNOD",
                                    "CAP_LEASE",
                                    "CAP_AUDIT_WRITE",
                                    "CAP_AUDIT_CONTROL",
                                    "CAP_SETFCAP",
                                    "CAP_MAC_OVERRIDE",
                                    "CAP_MAC_ADMIN",
                                    "CAP_SYSLOG",
                                    "CAP_WAKE_ALARM",
                                    "CAP_BLOCK_SUSPEND",
                                    "CAP_AUDIT_READ",
                                    "CAP_PERFMON",
                                    "CAP_BPF",
                                    "CAP_CHECKPOINT_RESTORE",
                                    NULL};

int rt_cap_last(void) {
  return (int)ARRAY_SIZE(rt_cap_names) - 2;
}

KUBE_EXPORT int kube_cap_from_name(const char *name) {
  if (!name)
    return -1;
  const char *bare = strncasecmp(name, "CAP_", 4) == 0 ? name + 4 : name;
  for (int i = 0; rt_cap_names[i]; i++)
    if (strcasecmp(rt_cap_names[i] + 4, bare) == 0)
      return i;
  return -1;
}

KUBE_EXPORT uint64_t kube_caps_default(void) {
  static const int caps[] = {
      CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,
      CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,           CAP_SETUID,
      CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
      CAP_KILL,    CAP_AUDIT_WRITE};
  uint64_t m = 0;
  for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
    m |= 1ULL << caps[i];
  return m;
}

/* Runs in C: drop the bounding set while we still hold CAP_SETPCAP, switch
 * to the configured user keeping the permitted set, then install the
 * effective/permitted/inheritable and ambient sets. */
int rt_child_set_user(const kube_rt_config_t *cfg, const char **what) {
  const kube_rt_caps_t *caps = &cfg->caps;
  for (int i = 0; i <= 63; i++) {
    if (caps->bounding & (1ULL << i))
      continue;
    if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL) {
      *what = "process.capabilities.bounding";
      return -1;
    }
  }
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
    *what = "keepcaps";
    return -1;
  }
  if (rt_sys_setgroups(cfg->n_additional_gids, cfg->additional_gids) < 0 &&
      !(errno == EPERM && cfg->n_additional_gids == 0)) {
    *what = "process.user.additionalGids";
    return -1;
  }
  if (rt_sys_setresgid(cfg->gid, cfg->gid, cfg->gid) < 0) {
    *what = "process.user.gid";
    return -1;
  }
  if (rt_sys_setresuid(cfg->uid, cfg->uid, cfg->uid) < 0) {
    *what = "process.user.uid";
    return -1;
  }
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) {
    *what = "keepcaps";
    return -1;
  }
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  data[0].effective = (uint32_t)caps->effective;
  data[1].effective = (uint32_t)(caps->effective >> 32);
  data[0].permitted = (uint32_t)caps->permitted;
  data[1].permitted = (uint32_t)(caps->permitted >> 32);
  data[0].inheritable = (uint32_t)caps->inheritable;
  data[1].inheritable = (uint32_t)(caps->inheritable >> 32);
  if (syscall(SYS_capset, &hdr, data) < 0) {
    *what = "process.capabilities";
    return -1;
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
      errno != EINVAL) {
    *what = "process.capabilities.ambient";
    return -1;
  }
  for (int i = 0; i <= 63; i++) {
    if (!(caps->ambient & (1ULL << i)))
      continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0) {
      *what = "process.capabilities.ambient";
      return -1;
    }
  }
  return 0;
}
