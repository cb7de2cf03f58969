import { useClient, useQuery } from 'urql';
import { graphql } from '../../../graphql/graphql.ts';
import { bytes } from '../../../values/units.ts';
import { ErrorList, problemsOf } from '../layout/error-list.tsx';
import { useChange } from '../layout/use-change.ts';
import { navigate } from '../routing/router.tsx';
import { mayAct } from '../session/roles.ts';
import { useViewer } from '../session/viewer.tsx';
import { SharePanel } from '../sharing/share-panel.tsx';

const IMAGE = graphql(`query Image($id: ID!) {
  node(id: $id) { ... on Image {
    id name state stateReason format sizeBytes virtualSizeBytes sha512 sourceUrl
    public myRole owner { email } shares { role user { email } }
  } } }`);
const IMAGE_UPDATE = graphql(`mutation ImagePublic($id: ID!, $public: Boolean!) {
  imageUpdate(input: { id: $id, public: $public }) { image { id public } userErrors { code field message } } }`);
const IMAGE_REMOVE = graphql(`mutation ImageRemove($id: ID!) {
  imageRemove(input: { id: $id }) { removedImageId userErrors { code field message } } }`);
const IMAGE_SHARE = graphql(`mutation ImageShare($input: ImageShareInput!) {
  imageShare(input: $input) { shares { role } userErrors { code field message } } }`);
const IMAGE_UNSHARE = graphql(`mutation ImageUnshare($input: ImageUnshareInput!) {
  imageUnshare(input: $input) { shares { role } userErrors { code field message } } }`);

/**
 * ImageDetail is one image: what it is, who it is shared with, removal by its owners, and for
 * admins making it public or private.
 */
export function ImageDetail({ id }: { id: string }) {
  const viewer = useViewer();
  const client = useClient();
  const [{ data, error }, reread] = useQuery({ query: IMAGE, variables: { id } });
  const { busy, problems, run } = useChange();
  const refresh = () => reread({ requestPolicy: 'network-only' });
  const image = data?.node && 'name' in data.node ? data.node : null;
  if (!image) return data ? <p>No such image.</p> : <ErrorList error={error} />;
  const own = mayAct(viewer, image.myRole, 'OWNER');
  return (
    <section aria-labelledby="image-title">
      <h1 id="image-title">Image {image.name}</h1>
      <dl className="facts">
        <dt>State</dt>
        <dd>
          {image.state}
          {image.stateReason ? ` (${image.stateReason})` : ''}
        </dd>
        <dt>Format</dt>
        <dd>{image.format}</dd>
        <dt>Size</dt>
        <dd>
          {bytes(image.sizeBytes)} ({bytes(image.virtualSizeBytes)} disk)
        </dd>
        <dt>Owner</dt>
        <dd>{image.owner.email}</dd>
        <dt>Source</dt>
        <dd className="wrap">{image.sourceUrl ?? 'uploaded'}</dd>
        <dt>SHA-512</dt>
        <dd className="wrap mono">{image.sha512 ?? '—'}</dd>
        <dt>Public</dt>
        <dd>{image.public ? 'yes: everyone may make VMs from it' : 'no'}</dd>
      </dl>
      <div className="actions">
        {viewer.isAdmin && (
          <button
            type="button"
            disabled={busy}
            onClick={async () => {
              await run(async () => {
                const r = await client
                  .mutation(IMAGE_UPDATE, { id: image.id, public: !image.public })
                  .toPromise();
                return problemsOf(r.data?.imageUpdate.userErrors, r.error);
              });
              refresh();
            }}
          >
            {image.public ? 'Make private' : 'Make public'}
          </button>
        )}
        {own && (
          <button
            type="button"
            className="danger"
            disabled={busy}
            onClick={async () => {
              const out = await run(async () => {
                const r = await client.mutation(IMAGE_REMOVE, { id: image.id }).toPromise();
                return problemsOf(r.data?.imageRemove.userErrors, r.error);
              });
              if (out.length === 0) navigate('/images');
            }}
          >
            Remove image
          </button>
        )}
      </div>
      <ErrorList userErrors={problems} />
      {own && (
        <SharePanel
          what={image.name}
          shares={image.shares}
          actions={{
            share: async (email, role) => {
              const r = await client
                .mutation(IMAGE_SHARE, { input: { id: image.id, email, role } })
                .toPromise();
              refresh();
              return problemsOf(r.data?.imageShare.userErrors, r.error);
            },
            unshare: async (email) => {
              const r = await client
                .mutation(IMAGE_UNSHARE, { input: { id: image.id, email } })
                .toPromise();
              refresh();
              return problemsOf(r.data?.imageUnshare.userErrors, r.error);
            },
          }}
        />
      )}
    </section>
  );
}
