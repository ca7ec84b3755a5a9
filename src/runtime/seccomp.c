/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Seccomp: profiles are compiled to classic BPF with libseccomp in the
 * caller, so the container's init only has to hand the program to the
 * kernel (no allocation after clone3, and no compile on the hot path of C).
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "runtime/internal.h"

static uint32_t to_scmp(kube_seccomp_action_t a, int errno_ret) {
  switch (a) {
  case KUBE_SECCOMP_ALLOW:
    return SCMP_ACT_ALLOW;
  case KUBE_SECCOMP_ERRNO:
    return SCMP_ACT_ERRNO(errno_ret ? errno_ret : EPERM);
  case KUBE_SECCOMP_KILL:
    return SCMP_ACT_KILL;
  case KUBE_SECCOMP_KILL_PROCESS:
    return SCMP_ACT_KILL_PROCESS;
  case KUBE_SECCOMP_TRAP:
    return SCMP_ACT_TRAP;
  case KUBE_SECCOMP_LOG:
    return SCMP_ACT_LOG;
  }
  return SCMP_ACT_ALLOW;
}

int rt_seccomp_compile(const kube_seccomp_t *s, void **prog_out,
                       size_t *len_out, kube_error_t *err) {
  uint32_t def = to_scmp(s->default_action, s->default_errno);
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx)
    return kube_error_set(err, KUBE_REASON_INVALID, 0,
                          "linux.seccomp: cannot initialise the filter");
  int rc = 0;
  /* We set no_new_privs ourselves, as the config says. */
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  for (size_t i = 0; i < s->n_rules && rc == 0; i++) {
    const kube_seccomp_rule_t *r = &s->rules[i];
    uint32_t act = to_scmp(r->action, r->errno_ret);
    if (act == def)
      continue;
    struct scmp_arg_cmp cmp[6];
    size_t n = r->n_args > 6 ? 6 : r->n_args;
    for (size_t k = 0; k < n; k++)
      cmp[k] = (struct scmp_arg_cmp){r->args[k].index,
                                     (enum scmp_compare)r->args[k].op,
                                     r->args[k].value, r->args[k].value_two};
    for (size_t k = 0; k < r->n_names; k++) {
      int nr = seccomp_syscall_resolve_name(r->names[k]);
      if (nr == __NR_SCMP_ERROR)
        continue; /* not on this architecture/kernel: as runc does */
      int x = seccomp_rule_add_array(ctx, act, nr, (unsigned)n, cmp);
      if (x < 0 && x != -EEXIST) {
        rc = kube_error_set(err, KUBE_REASON_INVALID, -x,
                            "linux.seccomp.syscalls[%zu]: rule for %s: %s", i,
                            r->names[k], strerror(-x));
        break;
      }
    }
  }
  if (rc == 0) {
    cleanup_close int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
    int x = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
    off_t size = x == 0 ? lseek(fd, 0, SEEK_END) : -1;
    if (x < 0 || size <= 0) {
      rc = kube_make_error(err, x < 0 ? -x : errno,
                           "linux.seccomp: export filter");
    } else {
      void *buf = malloc((size_t)size);
      if (!buf) {
        rc = kube_make_oom(err);
      } else if (pread(fd, buf, (size_t)size, 0) != size) {
        free(buf);
        rc = kube_make_error(err, errno, "linux.seccomp: read filter");
      } else {
        *prog_out = buf;
        *len_out = (size_t)size / sizeof(struct sock_filter);
      }
    }
  }
  seccomp_release(ctx);
  return rc;
}

int rt_child_load_seccomp(const struct child_plan *p) {
  if (!p->seccomp_prog)
    return 0;
  struct sock_fprog prog = {(unsigned short)p->seccomp_len, p->seccomp_prog};
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

/* Syscalls Docker's default profile does not allow for a container without
 * extra capabilities.  Expressed as a deny list, which compiles to a much
 * shorter program than Docker's allow list and blocks the same calls. */
static const char *const denied[] = {"acct",
                                     "add_key",
                                     "bpf",
                                     "clock_adjtime",
                                     "clock_settime",
                                     "create_module",
                                     "delete_module",
                                     "finit_module",
                                     "fsconfig",
                                     "fsmount",
                                     "fsopen",
                                     "fspick",
                                     "get_kernel_syms",
                                     "get_mempolicy",
                                     "init_module",
                                     "ioperm",
                                     "iopl",
                                     "kcmp",
                                     "kexec_file_load",
                                     "kexec_load",
                                     "keyctl",
                                     "lookup_dcookie",
                                     "mbind",
                                     "mount",
                                     "mount_setattr",
                                     "move_mount",
                                     "move_pages",
                                     "name_to_handle_at",
                                     "nfsservctl",
                                     "open_by_handle_at",
                                     "open_tree",
                                     "perf_event_open",
                                     "pivot_root",
                                     "process_vm_readv",
                                     "process_vm_writev",
                                     "ptrace",
                                     "query_module",
                                     "quotactl",
                                     "quotactl_fd",
                                     "reboot",
                                     "request_key",
                                     "set_mempolicy",
                                     "setns",
                                     "settimeofday",
                                     "stime",
                                     "swapoff",
                                     "swapon",
                                     "sysfs",
                                     "_sysctl",
                                     "umount",
                                     "umount2",
                                     "unshare",
                                     "uselib",
                                     "userfaultfd",
                                     "ustat",
                                     "vm86",
                                     "vm86old",
                                     "io_uring_setup",
                                     "io_uring_enter",
                                     "io_uring_register",
                                     NULL};

static int add_rule(kube_seccomp_t *s, const char *const *names, size_t n,
                    kube_seccomp_action_t act, int eno,
                    const kube_seccomp_arg_t *arg) {
  kube_seccomp_rule_t *r = &s->rules[s->n_rules++];
  r->action = act;
  r->errno_ret = eno;
  r->names = calloc(n + 1, sizeof(char *));
  if (!r->names)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (!(r->names[r->n_names++] = strdup(names[i])))
      return -1;
  if (arg) {
    if (!(r->args = calloc(1, sizeof *arg)))
      return -1;
    r->args[0] = *arg;
    r->n_args = 1;
  }
  return 0;
}

KUBE_EXPORT kube_seccomp_t *kube_seccomp_default_profile(void) {
  static const uint64_t ns_flags[] = {
      CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,   CLONE_NEWUSER,
      CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP};
  kube_seccomp_t *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->default_action = KUBE_SECCOMP_ALLOW;
  s->rules = calloc(2 + ARRAY_SIZE(ns_flags), sizeof *s->rules);
  if (!s->rules)
    goto fail;
  size_t n = 0;
  while (denied[n])
    n++;
  if (add_rule(s, denied, n, KUBE_SECCOMP_ERRNO, EPERM, NULL) < 0)
    goto fail;
  /* clone3's flags live in memory seccomp cannot read: make libc fall back
   * to clone, whose namespace flags are checked below. */
  static const char *const c3[] = {"clone3"};
  if (add_rule(s, c3, 1, KUBE_SECCOMP_ERRNO, ENOSYS, NULL) < 0)
    goto fail;
  static const char *const cl[] = {"clone"};
  for (size_t i = 0; i < ARRAY_SIZE(ns_flags); i++) {
    kube_seccomp_arg_t a = {0, ns_flags[i], ns_flags[i],
                            KUBE_SECCOMP_OP_MASKED_EQ};
    if (add_rule(s, cl, 1, KUBE_SECCOMP_ERRNO, EPERM, &a) < 0)
      goto fail;
  }
  return s;
fail:
  kube_seccomp_free(s);
  return NULL;
}
