#ifndef VITKIT_STOP_SIGNALS_H
#define VITKIT_STOP_SIGNALS_H

/// Installs handlers for SIGINT and SIGTERM: the first one is recorded (training finishes its step, saves where it
/// stands and exits); a second one exits at once with 128 + its number, as the default action's status reads.
void vitkit_catch_stop_signals(void);

/// The first SIGINT or SIGTERM received since vitkit_catch_stop_signals, or 0.
int vitkit_stop_signal(void);

#endif
