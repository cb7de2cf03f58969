import type { Operation } from '../entities/operation.ts';
import type { OperationUpdate } from '../services/operations/operation-runner.ts';
import { type TransferProgress, transferOf } from '../services/operations/transfer-progress.ts';
import { builder } from './builder.ts';
import { OperationEvent, OperationType } from './operation.ts';

const TransferProgressType = builder.objectRef<TransferProgress>('TransferProgress').implement({
  description:
    'The bytes an import or a save has moved so far; successive reports give its rate and time left.',
  fields: (t) => ({
    transferredBytes: t.exposeFloat('transferredBytes'),
    totalBytes: t.exposeFloat('totalBytes', {
      nullable: true,
      description: 'How many bytes will arrive, when the source said.',
    }),
  }),
});

const transfer = (o: Pick<Operation | OperationUpdate, 'details'>) => transferOf(o.details);

for (const type of [OperationType, OperationEvent] as const)
  builder.objectField(type, 'transfer', (t) =>
    t.field({
      type: TransferProgressType,
      nullable: true,
      description: "A transfer's figures (null for operations that move no bytes).",
      resolve: transfer,
    }),
  );
