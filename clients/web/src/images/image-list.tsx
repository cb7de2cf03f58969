import { useQuery } from 'urql';
import { graphql } from '../../../graphql/graphql.ts';
import { bytes } from '../../../values/units.ts';
import { ErrorList } from '../layout/error-list.tsx';
import { PAGE, Pager, usePages } from '../layout/pager.tsx';
import { StateBadge } from '../layout/state-badge.tsx';
import { Table } from '../layout/table.tsx';
import { useLiveOperations } from '../operations/live-operations.ts';
import { ProgressBar } from '../operations/progress-bar.tsx';
import { Link } from '../routing/router.tsx';
import { ImageImport } from './image-import.tsx';
import { ImageUpload } from './image-upload.tsx';

const IMAGES = graphql(`query Images($first: Int!, $after: String) {
  images(first: $first, after: $after) {
    edges { node {
      id name state stateReason format sizeBytes virtualSizeBytes public myRole owner { email }
    } }
    pageInfo { hasNextPage endCursor }
  } }`);

/**
 * ImageList is the images the viewer may use (their own, shared, public), with a live progress
 * bar on each import, and the forms to import from a URL or upload a file.
 */
export function ImageList() {
  const pages = usePages();
  const [{ data, fetching, error }, reread] = useQuery({
    query: IMAGES,
    variables: { first: PAGE, after: pages.after },
  });
  const refresh = () => reread({ requestPolicy: 'network-only' });
  const operations = useLiveOperations(refresh);
  const edges = data?.images.edges ?? [];
  return (
    <section aria-labelledby="images-title">
      <h1 id="images-title">Images</h1>
      <ErrorList error={error} />
      {data && edges.length === 0 && <p>No images yet.</p>}
      {edges.length > 0 && (
        <Table columns={['Name', 'State', 'Format', 'Size', 'Disk size', 'Owner', 'Public']}>
          {edges.map(({ node: image }) => {
            const op = operations.get(image.id);
            return (
              <tr key={image.id} data-image={image.name}>
                <th scope="row">
                  <Link href={`/images/${encodeURIComponent(image.id)}`}>{image.name}</Link>
                </th>
                <td>
                  {image.state === 'IMPORTING' && op && op.status !== 'SUCCEEDED' ? (
                    <ProgressBar op={op} label={`Importing ${image.name}`} />
                  ) : (
                    <StateBadge state={image.state} reason={image.stateReason} />
                  )}
                </td>
                <td>{image.state === 'IMPORTING' ? '—' : image.format}</td>
                <td>{bytes(image.sizeBytes)}</td>
                <td>{bytes(image.virtualSizeBytes)}</td>
                <td>{image.owner.email}</td>
                <td>{image.public ? 'yes' : 'no'}</td>
              </tr>
            );
          })}
        </Table>
      )}
      <Pager pages={pages} what="Image" pageInfo={data?.images.pageInfo} busy={fetching} />
      <div className="panels">
        <ImageImport onStarted={refresh} />
        <ImageUpload onDone={refresh} />
      </div>
    </section>
  );
}
