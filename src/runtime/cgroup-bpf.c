/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device access on cgroup v2: there is no devices controller, the kernel
 * runs a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup.  We
 * emit one small program from the rule list (as crun does): rules are
 * tested from the last to the first, the first match decides, and no match
 * denies.  Hand-assembled, so no libbpf is needed.
 */
#include <linux/bpf.h>
#include <sys/syscall.h>

#include "runtime/internal.h"

#define INSN(c, d, s, o, i) ((struct bpf_insn){(c), (d), (s), (o), (i)})

/* The default allow list, the same as the v1 devices rules. */
static const kube_rt_device_rule_t default_rules[] = {
    {true, 'c', -1, -1, "m"},    {true, 'b', -1, -1, "m"},
    {true, 'c', 1, 3, "rwm"},    {true, 'c', 1, 5, "rwm"},
    {true, 'c', 1, 7, "rwm"},    {true, 'c', 1, 8, "rwm"},
    {true, 'c', 1, 9, "rwm"},    {true, 'c', 5, 0, "rwm"},
    {true, 'c', 5, 1, "rwm"},    {true, 'c', 5, 2, "rwm"},
    {true, 'c', 136, -1, "rwm"}, {true, 'c', 10, 200, "rwm"},
};

/* Terminals (tty, console, ptmx, pts) stay usable whatever the config's
 * own rules say, as runc appends them after the config's: a "deny all"
 * first rule (podman's) must not break process.terminal. */
static const kube_rt_device_rule_t rt_terminal_device_rules[4] = {
    {true, 'c', 5, 0, "rwm"},
    {true, 'c', 5, 1, "rwm"},
    {true, 'c', 5, 2, "rwm"},
    {true, 'c', 136, -1, "rwm"},
};

static int access_bits(const char *a) {
  int m = 0;
  for (; *a; a++)
    m |= *a == 'm'   ? BPF_DEVCG_ACC_MKNOD
         : *a == 'r' ? BPF_DEVCG_ACC_READ
         : *a == 'w' ? BPF_DEVCG_ACC_WRITE
                     : 0;
  return m;
}

/* Append the test of one rule; returns the number of instructions. */
static size_t emit_rule(struct bpf_insn *p, const kube_rt_device_rule_t *r) {
  size_t n = 0;
  int acc = access_bits(r->access);
  bool all_access =
      acc == (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE);
  /* block size: computed first so the "skip" jumps know their distance */
  size_t size = 2 + (r->type != 'a') + (all_access ? 0 : 3) + (r->major >= 0) +
                (r->minor >= 0);
  size_t left = size;
#define SKIP() ((short)(left - 1))
  if (r->type != 'a') {
    int t = r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
    p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 2, 0, SKIP(), t);
    left--;
  }
  if (!all_access) {
    /* r1 = access & ~allowed; match only if nothing else was asked */
    p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, 3, 0, 0);
    left--;
    p[n++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, 1, 0, 0, ~acc & 7);
    left--;
    p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 1, 0, SKIP(), 0);
    left--;
  }
  if (r->major >= 0) {
    p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 4, 0, SKIP(), (int)r->major);
    left--;
  }
  if (r->minor >= 0) {
    p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 5, 0, SKIP(), (int)r->minor);
    left--;
  }
#undef SKIP
  p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, r->allow ? 1 : 0);
  p[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  return n;
}

int rt_cg_bpf_devices_attach(int cgroup_fd, const kube_rt_resources_t *res,
                             kube_error_t *err) {
  size_t n_rules = ARRAY_SIZE(default_rules) + res->n_device_rules + 4;
  struct bpf_insn *prog = calloc(8 + n_rules * 9, sizeof *prog);
  if (!prog)
    return kube_make_oom(err);
  size_t n = 0;
  /* r2 = type, r3 = access, r4 = major, r5 = minor */
  prog[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, 2, 1, 0, 0);
  prog[n++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, 2, 0, 0, 0xffff);
  prog[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, 3, 1, 0, 0);
  prog[n++] = INSN(BPF_ALU64 | BPF_RSH | BPF_K, 3, 0, 0, 16);
  prog[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, 4, 1, 4, 0);
  prog[n++] = INSN(BPF_LDX | BPF_W | BPF_MEM, 5, 1, 8, 0);
  for (size_t i = 4; i-- > 0;) /* checked first: they win */
    n += emit_rule(prog + n, &rt_terminal_device_rules[i]);
  for (size_t i = res->n_device_rules; i-- > 0;)
    n += emit_rule(prog + n, &res->device_rules[i]);
  for (size_t i = ARRAY_SIZE(default_rules); i-- > 0;)
    n += emit_rule(prog + n, &default_rules[i]);
  prog[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
  prog[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t)(uintptr_t)prog;
  attr.insn_cnt = (uint32_t)n;
  attr.license = (uint64_t)(uintptr_t) "Apache";
  int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  int e = errno;
  free(prog);
  if (fd < 0)
    return kube_error_set(err, KUBE_REASON_INTERNAL, e,
                          "linux.resources.devices: load the device filter: %s",
                          strerror(e));
  memset(&attr, 0, sizeof attr);
  attr.target_fd = (uint32_t)cgroup_fd;
  attr.attach_bpf_fd = (uint32_t)fd;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  int r = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr);
  e = errno;
  close(fd); /* the attachment keeps the program */
  if (r < 0)
    return kube_error_set(
        err, KUBE_REASON_INTERNAL, e,
        "linux.resources.devices: attach the device filter: %s", strerror(e));
  return 0;
}
