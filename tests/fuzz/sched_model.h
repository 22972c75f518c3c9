/* A model-based test of the scheduler (scheduler/sched.c), alone or driven
 * by the monitor over real target tables, as daemon/daemon.c wires them: the
 * input bytes choose the setting (one-shot or continuous, targets, retries,
 * timeouts, lookahead, ring size, per-destination pacing, source-port range)
 * and then an interleaving of everything that can happen on a simulated
 * clock: due checks, the sender taking requests and reporting them sent or
 * failed, the wire (our SYNs seen leaving, replies on time, late, duplicated,
 * for past attempts and past checks, forged), timeouts, reloads that add,
 * remove and move targets, shard changes, rate-cap overload and SIGINT.
 *
 * After every step it checks what the scheduler did against its own model:
 * every check ends exactly once with one result that the events justify,
 * no request goes out for a check that has ended, a retransmission only
 * after the previous attempt timed out, replies are matched to the right
 * attempt of the right check and RTTs are exact, queues stay bounded,
 * the probes unreported never exceed the lookahead, sched_verify holds; and
 * at the end, with the wire quiet and the clock running, every check ends.
 *
 * Used by tests/fuzz/fuzz_sched.c (libFuzzer) and tests/unit/test_sched_model.c
 * (fixed seeds, in make test). */
#ifndef SW_SCHED_MODEL_H
#define SW_SCHED_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* Runs the input. Returns 0, or -1 with one line in why saying which
 * invariant broke, at which step. Never aborts on its own. */
int sched_model_run(const uint8_t *data, size_t len, char *why, size_t whylen);

#endif
