import { useEffect, useState } from 'react';
import { Provider, useQuery } from 'urql';
import { createApiClient } from './api/client.ts';
import { AuditLog } from './audit/audit-log.tsx';
import { HostList } from './hosts/host-list.tsx';
import { ImageDetail } from './images/image-detail.tsx';
import { ImageList } from './images/image-list.tsx';
import { Shell } from './layout/shell.tsx';
import { matchPath, navigate, usePath } from './routing/router.tsx';
import { SignIn } from './session/sign-in.tsx';
import { useViewer, VIEWER_QUERY, ViewerProvider } from './session/viewer.tsx';
import { UsageReport } from './usage/usage-report.tsx';
import { UserList } from './users/user-list.tsx';
import { VmDetail } from './vms/vm-detail.tsx';
import { VmList } from './vms/vm-list.tsx';

/**
 * App holds the console's connection. Signing in or out replaces it, so no cached result or
 * open subscription of one session is seen by the next.
 */
export function App() {
  const [api, setApi] = useState(createApiClient);
  const renew = () =>
    setApi((old) => {
      old.close();
      return createApiClient();
    });
  return (
    <Provider value={api.urql} key={String(api.generation)}>
      <Console onSessionChange={renew} />
    </Provider>
  );
}

function Console({ onSessionChange }: { onSessionChange: () => void }) {
  const [{ data, fetching, error }] = useQuery({ query: VIEWER_QUERY });
  if (!data && fetching) return <p role="status">Loading…</p>;
  if (!data && error)
    return <p role="alert">The controller could not be reached: {error.message}</p>;
  if (!data?.viewer) return <SignIn onSignedIn={onSessionChange} />;
  return (
    <ViewerProvider value={data.viewer}>
      <Shell onSignedOut={onSessionChange}>
        <Page />
      </Shell>
    </ViewerProvider>
  );
}

function Page() {
  const path = usePath();
  const viewer = useViewer();
  if (matchPath('/vms', path)) return <VmList />;
  const vm = matchPath('/vms/:id', path);
  if (vm?.id) return <VmDetail id={vm.id} key={vm.id} />;
  if (matchPath('/images', path)) return <ImageList />;
  const image = matchPath('/images/:id', path);
  if (image?.id) return <ImageDetail id={image.id} key={image.id} />;
  if (matchPath('/usage', path)) return <UsageReport user={null} />;
  if (matchPath('/hosts', path) && viewer.isAdmin) return <HostList />;
  if (matchPath('/users', path) && viewer.isAdmin) return <UserList />;
  const user = matchPath('/users/:id/usage', path);
  if (user?.id && viewer.isAdmin) return <UsageReport user={user.id} key={user.id} />;
  if (matchPath('/audit', path) && viewer.isAdmin) return <AuditLog />;
  if (path === '/') return <Redirect to="/vms" />;
  return (
    <section>
      <h1>Not found</h1>
      <p>Nothing is at {path}.</p>
    </section>
  );
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to), [to]);
  return null;
}
