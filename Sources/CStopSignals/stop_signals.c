// In C because a signal handler may only touch a volatile sig_atomic_t and call async-signal-safe functions
// (write, _exit); a Swift global is initialised lazily through swift_once, which is neither.
#include "vitkit_stop_signals.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t first_signal = 0;

static void on_stop_signal(int sig) {
    if (first_signal != 0) _exit(128 + sig);
    first_signal = sig;
    static const char note[] = "\nvitkit: stopping after this step and saving where training stands (again to stop at once)\n";
    ssize_t ignored = write(STDERR_FILENO, note, sizeof note - 1);
    (void)ignored;
}

void vitkit_catch_stop_signals(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;  // a read or write in progress carries on instead of failing with EINTR
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}

int vitkit_stop_signal(void) { return first_signal; }
