import { SIRO_OBJECTS, SIRO_OBJECT_NAMES, type SiroObject } from '../siro/objects.js';
import type { Batcher, BatcherOptions } from './batcher.js';

/**
 * One batcher per Siro object, wired so that a payload waits for the object it depends on (objects.ts,
 * `dependsOn`): today an engagement for the opportunity it references.
 *
 * Siro links an engagement's nested `opportunity` that carries only its externalId to an opportunity it
 * already has, so when one run syncs both, an engagement whose payload has `opportunity.externalId = X` is
 * not sent while an opportunity item X of this run is still without an outcome:
 *
 * - "Of this run" means pushed before the engagement's request starts: earlier in the input, or later but
 *   while the engagement still waits in an unsent batch (checked when the engagement would join a batch and
 *   again when its request starts). An opportunity pushed after the engagement's request started cannot
 *   hold it back; order the streams so opportunities come first (or let the engagement carry the nested
 *   opportunity in full).
 * - The engagement waits parked in its batcher (see batcher.ts): still replaceable by newer items of its
 *   externalId, so writes of one externalId keep their order; it holds no request slot; it counts as a
 *   pending item, so push()'s backpressure bounds how many can wait. Opportunities never wait for anything,
 *   so this cannot deadlock: every parked engagement is released once its opportunity's writes (including
 *   newer ones of X pushed meanwhile) have their outcomes.
 * - It waits whether the nested opportunity is full or only an externalId: either way Siro's copy of X is
 *   then written in input order (the opportunity's own sync first, the engagement's nested fields after).
 * - When Siro refuses opportunity X (or it is rejected after splitting), the engagement is sent anyway, as
 *   mapped: its own data should not be lost over its deal. If it carries the opportunity in full, Siro
 *   upserts the opportunity from it; if only the externalId, the link may dangle, which is Siro's to
 *   accept or refuse, and the engagement gets Siro's answer as its outcome. The opportunity's refusal is
 *   in the rejects file either way, and the ledger retries it in a later run.
 * - Opportunities the ledger finds unchanged (or from earlier runs) are never pushed: Siro has them, so
 *   nothing waits for them.
 */

export type DependencyWiring = Pick<BatcherOptions, 'mustWaitFor' | 'onFreed'>;

/** The batchers of every object, each made by `make` with the waiting and releasing its dependencies need. */
export function dependentBatchers(make: (object: SiroObject, wiring: DependencyWiring) => Batcher): Record<SiroObject, Batcher> {
  const batchers = {} as Record<SiroObject, Batcher>;
  const waitingOn = new Map<SiroObject, SiroObject[]>();
  for (const name of SIRO_OBJECT_NAMES) {
    const dependency = SIRO_OBJECTS[name].dependsOn;
    if (dependency) waitingOn.set(dependency.object, [...(waitingOn.get(dependency.object) ?? []), name]);
  }
  for (const name of SIRO_OBJECT_NAMES) {
    const dependency = SIRO_OBJECTS[name].dependsOn;
    const dependents = waitingOn.get(name);
    batchers[name] = make(name, {
      // An item waits while the object it references has a write of this run without outcome ...
      mustWaitFor: dependency
        ? (item) => {
            const externalId = dependency.reference(item.payload);
            return externalId !== undefined && batchers[dependency.object].tracks(externalId) ? externalId : undefined;
          }
        : undefined,
      // ... and goes once that object's last write has its outcome (acked or rejected).
      onFreed: dependents ? (externalId) => dependents.forEach((d) => batchers[d].release(externalId)) : undefined,
    });
  }
  return batchers;
}
