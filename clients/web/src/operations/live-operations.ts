import { useRef, useState } from 'react';
import { useSubscription } from 'urql';
import { graphql, type ResultOf } from '../../../graphql/graphql.ts';

const OPERATION_UPDATED = graphql(`subscription OperationUpdated {
  operationUpdated {
    status progress phase error
    transfer { transferredBytes totalBytes }
    operation { id kind target }
  } }`);

/** LiveOperation is the last news of an operation: status, progress, what it is working on. */
export type LiveOperation = ResultOf<typeof OPERATION_UPDATED>['operationUpdated'];

const ENDED = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** ended says whether an operation has finished, one way or another. */
export function ended(op: Pick<LiveOperation, 'status'>): boolean {
  return ENDED.has(op.status);
}

/**
 * useLiveOperations follows the viewer's operations and keeps the latest news of each by the
 * resource it works on (its `target`, the resource's id), calling `onEnded` when one finishes
 * so a page can read the resource's new state.
 */
export function useLiveOperations(
  onEnded: (op: LiveOperation) => void,
): ReadonlyMap<string, LiveOperation> {
  const callback = useRef(onEnded);
  callback.current = onEnded;
  const [byTarget, setByTarget] = useState<ReadonlyMap<string, LiveOperation>>(new Map());
  useSubscription({ query: OPERATION_UPDATED }, (_prev, event) => {
    const op = event.operationUpdated;
    const target = op.operation?.target;
    if (target) setByTarget((m) => new Map(m).set(target, op));
    if (ended(op)) callback.current(op);
    return event;
  });
  return byTarget;
}
