#define _GNU_SOURCE
#include "CSpawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

struct request {
    const char *path;
    char *const *argv;
    char *const *envp;
    const char *stdout_path;
    const char *stderr_path;
    unsigned long long limit;
    int death_signal;
    pid_t pid;
    int error;
    bool done;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static pthread_once_t started = PTHREAD_ONCE_INIT;
static struct request *pending;

/// In the child: only async-signal-safe calls until exec. A failure's errno goes to `report` (close-on-exec).
static void child(const struct request *r, pid_t parent, int report) {
    setpgid(0, 0);
    struct sigaction fallback = {0};
    fallback.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++) sigaction(s, &fallback, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int fd0 = open("/dev/null", O_RDONLY);
    int fd1 = open(r->stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fd2 = open(r->stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int error = 0;
    if (fd0 < 0 || fd1 < 0 || fd2 < 0 || dup2(fd0, 0) < 0 || dup2(fd1, 1) < 0 || dup2(fd2, 2) < 0) error = errno;
    if (!error && r->limit) {
        struct rlimit limit;
        getrlimit(RLIMIT_AS, &limit);
        // Never above an inherited hard limit (which cannot be raised).
        if (limit.rlim_max == RLIM_INFINITY || r->limit < limit.rlim_max) limit.rlim_max = r->limit;
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_AS, &limit) != 0) error = errno;
    }
    if (!error && r->death_signal) {
        if (prctl(PR_SET_PDEATHSIG, r->death_signal) != 0) error = errno;
        else if (getppid() != parent) _exit(128 + r->death_signal);  // the parent is already gone
    }
    if (!error) {
        execve(r->path, r->argv, r->envp);
        error = errno;
    }
    while (write(report, &error, sizeof error) < 0 && errno == EINTR) {}
    _exit(127);
}

static void run(struct request *r) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        r->error = errno;
        return;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) child(r, parent, report[1]);
    close(report[1]);
    if (pid < 0) {
        r->error = errno;
        close(report[0]);
        return;
    }
    int error = 0;
    ssize_t n;
    while ((n = read(report[0], &error, sizeof error)) < 0 && errno == EINTR) {}
    close(report[0]);
    if (n == sizeof error) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        r->error = error;
        return;
    }
    r->pid = pid;
}

/// The spawner thread: lives as long as the process, so children's parent-death signal means the process died.
static void *spawner(void *unused) {
    (void)unused;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (!pending || pending->done) pthread_cond_wait(&changed, &lock);
        run(pending);
        pending->done = true;
        pthread_cond_broadcast(&changed);
    }
    return NULL;
}

static void start(void) {
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);  // the spawner takes no signals
    pthread_create(&thread, &attributes, spawner, NULL);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    pthread_attr_destroy(&attributes);
}

int optimize_spawn(const char *path, char *const argv[], char *const envp[], const char *stdout_path,
                   const char *stderr_path, unsigned long long address_space_limit, int parent_death_signal,
                   pid_t *pid) {
    pthread_once(&started, start);
    struct request r = {path, argv, envp, stdout_path, stderr_path, address_space_limit, parent_death_signal, 0, 0, false};
    pthread_mutex_lock(&lock);
    while (pending && !pending->done) pthread_cond_wait(&changed, &lock);
    pending = &r;
    pthread_cond_broadcast(&changed);
    while (!r.done) pthread_cond_wait(&changed, &lock);
    pending = NULL;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    if (r.error) return r.error;
    *pid = r.pid;
    return 0;
}
