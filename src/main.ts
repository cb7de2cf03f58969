// Kumo's controller: `npm start`. Configuration: kumo.json (KUMO_CONFIG) and KUMO_* variables.
import { startKumo } from './app.ts';
import { loadConfig } from './config/config.ts';

const config = loadConfig();
const kumo = await startKumo(config);
if (kumo.adminPassword) {
  console.log(
    `Created the first admin, ${config.admin.email}, with password ${kumo.adminPassword} (shown once: keep it).`,
  );
}
console.log(
  `Kumo is listening: GraphQL and GraphiQL at ${kumo.server.url}, health at /healthz, metrics at /metrics`,
);

// Found dead by the other replicas: the controller has stopped itself; a supervisor starts
// a new replica.
void kumo.fenced.then((why) => {
  console.error(`stopped: ${why}`);
  process.exit(1);
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    kumo.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
