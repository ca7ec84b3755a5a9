/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube container logs: the CRI log the runtime's monitor writes
 * ("<RFC3339Nano> stdout|stderr F|P <text>"), stdout lines to our stdout
 * and stderr lines to our stderr as docker does; --tail, --timestamps,
 * and -f following the file until the container stops, from any process
 * (the monitor keeps writing after `run -d` exited).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "cmd-runtime.h"
#include "ctr.h"

/* One log line (without its '\n'). */
static void emit(const char *line, size_t len, bool timestamps) {
  const char *end = line + len;
  const char *sp1 = memchr(line, ' ', len);
  if (!sp1)
    return;
  const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
  if (!sp2)
    return;
  const char *sp3 = memchr(sp2 + 1, ' ', (size_t)(end - sp2 - 1));
  const char *text = sp3 ? sp3 + 1 : end;
  bool partial = sp3 && sp3 - sp2 == 2 && sp2[1] == 'P';
  int fd = (sp2 - sp1 - 1 == 6 && !strncmp(sp1 + 1, "stderr", 6))
               ? STDERR_FILENO
               : STDOUT_FILENO;
  if (timestamps) {
    rt_write_all(fd, line, (size_t)(sp1 - line));
    rt_write_all(fd, " ", 1);
  }
  rt_write_all(fd, text, (size_t)(end - text));
  if (!partial)
    rt_write_all(fd, "\n", 1);
}

/* Complete lines of buf[0..len): print those from line `skip` on; returns
 * the bytes consumed. */
static size_t emit_lines(const char *buf, size_t len, int64_t skip,
                         bool timestamps) {
  size_t off = 0;
  int64_t line = 0;
  while (off < len) {
    const char *nl = memchr(buf + off, '\n', len - off);
    if (!nl)
      break;
    size_t l = (size_t)(nl - (buf + off));
    if (line++ >= skip)
      emit(buf + off, l, timestamps);
    off += l + 1;
  }
  return off;
}

static bool still_running(struct ctr_env *e, const char *id) {
  kube_rt_state_t st;
  if (kube_runtime_state(e->rt, id, &st, NULL) < 0)
    return false;
  bool up = st.status == KUBE_RT_RUNNING || st.status == KUBE_RT_CREATED ||
            st.status == KUBE_RT_PAUSED;
  kube_rt_state_clear(&st);
  return up;
}

int ctr_logs(struct ctr_env *e, const char *id, bool follow, int64_t tail,
             bool timestamps) {
  char path[4200];
  ctr_path(e, id, "ctr.log", path, sizeof path);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT)
    return cli_fail("%s: %s", path, strerror(errno));
  size_t len = 0;
  char *buf = fd >= 0 ? cli_slurp_fd(fd, &len) : strdup("");
  if (!buf) {
    if (fd >= 0)
      close(fd);
    return cli_fail("%s: %s", path, strerror(errno));
  }
  int64_t lines = 0, skip = 0;
  for (size_t i = 0; i < len; i++)
    lines += buf[i] == '\n';
  if (tail >= 0 && lines > tail)
    skip = lines - tail;
  off_t pos = (off_t)emit_lines(buf, len, skip, timestamps);
  free(buf);
  if (!follow) {
    if (fd >= 0)
      close(fd);
    return 0;
  }
  char chunk[65536];
  size_t have = 0;
  for (;;) {
    bool up = still_running(e, id);
    if (fd < 0)
      fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = 0;
    if (fd >= 0) {
      n = pread(fd, chunk + have, sizeof chunk - have, pos);
      if (n > 0) {
        pos += n;
        have += (size_t)n;
        size_t used = emit_lines(chunk, have, 0, timestamps);
        if (used == 0 && have == sizeof chunk) {
          emit(chunk, have, timestamps); /* an overlong line: as it is */
          used = have;
        }
        memmove(chunk, chunk + used, have - used);
        have -= used;
        continue;
      }
    }
    if (!up)
      break;
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  if (fd >= 0)
    close(fd);
  return 0;
}
