#ifndef OPTIMIZE_CSPAWN_H
#define OPTIMIZE_CSPAWN_H

#include <sys/types.h>

/// Starts `path` with `argv` and `envp` (NULL-terminated) as the leader of a new process group: stdin from
/// /dev/null, stdout and stderr into new files (mode 0600) at the given paths, no blocked signals and every signal's
/// default disposition. When `address_space_limit` is not 0 it becomes the child's RLIMIT_AS (bytes); when
/// `parent_death_signal` is not 0 the child gets it when this process dies (PR_SET_PDEATHSIG).
///
/// The fork happens on one long-lived thread of this process, because Linux sends the parent-death signal when the
/// forking *thread* ends. Returns 0 and sets `*pid`, or returns an errno value (the exec's, when it failed).
int optimize_spawn(const char *path, char *const argv[], char *const envp[], const char *stdout_path,
                   const char *stderr_path, unsigned long long address_space_limit, int parent_death_signal,
                   pid_t *pid);

#endif
