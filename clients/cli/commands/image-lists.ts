import { graphql } from '../../graphql/graphql.ts';
import type { Api } from '../api/api.ts';
import { CliError } from '../api/cli-error.ts';
import { followed } from '../operations/wait.ts';
import { ago, parseTime } from '../output/format.ts';
import { type Column, done, type Json, type Row, table } from '../output/output.ts';
import { readText } from '../resources/files.ts';
import { decodeId, shortId } from '../resources/ids.ts';
import { resolveRef } from '../resources/refs.ts';
import type { CommandSpec } from './command.ts';

const USER_ERRORS = 'userErrors { code field message }';
const ENDORSER = 'id dn caDn createdAt';
const SUBSCRIPTION =
  'id url state title listVersion expiresAt checkedAt lastError autoImport publicImages endorserDn';
const ENTRY = `id identifier title version state stateReason
  image { id name } importing { id name }`;
const PUBLISHED =
  'id identifier title description url version expiresAt publishedAt images { id name }';

const ENDORSERS = graphql(`query Endorsers { endorsers { ${ENDORSER} } }`);
const ENDORSER_ADD = graphql(`mutation EndorserAdd($input: EndorserAddInput!) {
  endorserAdd(input: $input) { endorser { ${ENDORSER} } ${USER_ERRORS} } }`);
const ENDORSER_REMOVE = graphql(`mutation EndorserRemove($id: ID!) {
  endorserRemove(input: { id: $id }) { removedId ${USER_ERRORS} } }`);

const SUBSCRIPTIONS = graphql(`query ImageListSubscriptions {
  imageListSubscriptions { ${SUBSCRIPTION} } }`);
const ENTRIES = graphql(`query ImageListEntries($id: ID!) {
  node(id: $id) { ... on ImageListSubscription { id entries { ${ENTRY} } } } }`);
// Every followed list's entries, to find one by the id or title people type.
const ALL_ENTRIES = graphql(`query ImageListAllEntries {
  imageListSubscriptions { entries { id identifier title } } }`);
const ENTRY_NOW = graphql(`query ImageListEntry($id: ID!) {
  node(id: $id) { ... on ImageListEntry { ${ENTRY} } } }`);
const SUBSCRIBE = graphql(`mutation ImageListSubscribe($input: ImageListSubscribeInput!) {
  imageListSubscribe(input: $input) { subscription { ${SUBSCRIPTION} } ${USER_ERRORS} } }`);
const REFRESH = graphql(`mutation ImageListRefresh($id: ID!) {
  imageListRefresh(input: { id: $id }) { subscription { ${SUBSCRIPTION} } ${USER_ERRORS} } }`);
const UNSUBSCRIBE = graphql(`mutation ImageListUnsubscribe($id: ID!) {
  imageListUnsubscribe(input: { id: $id }) { removedId ${USER_ERRORS} } }`);
const IMPORT = graphql(`mutation ImageListEntryImport($id: ID!) {
  imageListEntryImport(input: { id: $id }) { entry { ${ENTRY} } operation { id } ${USER_ERRORS} } }`);

const PUBLISHED_LISTS = graphql(`query PublishedImageLists {
  publishedImageLists { ${PUBLISHED} } }`);
const PUBLISH = graphql(`mutation ImageListPublish($input: ImageListPublishInput!) {
  imageListPublish(input: $input) { list { ${PUBLISHED} } ${USER_ERRORS} } }`);
const UNPUBLISH = graphql(`mutation ImageListUnpublish($id: ID!) {
  imageListUnpublish(input: { id: $id }) { removedId ${USER_ERRORS} } }`);

/**
 * pick finds what someone typed among things the server lists whole (not connections), as
 * resolveRef does for connections: the global id, a name (a DN, a URL, a title), or the start
 * of the raw id (4 characters at least; tables show 8), each refused when ambiguous.
 */
function pick<T extends { readonly id: string }>(
  what: string,
  typed: string,
  items: readonly T[],
  namesOf: (item: T) => ReadonlyArray<string | null>,
  ls: string,
): T {
  const byId = items.filter((i) => i.id === typed);
  const byName = items.filter((i) => namesOf(i).includes(typed));
  const byShort =
    typed.length >= 4
      ? items.filter((i) => decodeId(i.id)?.raw.startsWith(typed.toLowerCase()))
      : [];
  const found = [byId, byName, byShort].find((f) => f.length > 0) ?? [];
  if (found.length === 1) return found[0] as T;
  if (found.length > 1)
    throw new CliError('USAGE', `${found.length} ${what}s match ${typed}`, {
      hint: `use a longer id (see \`kumo ${ls}\`, or --json)`,
    });
  throw new CliError('NOT_FOUND', `no ${what} ${typed}`, { hint: `see \`kumo ${ls}\`` });
}

async function subscriptionOf(api: Api, typed: string) {
  const { imageListSubscriptions } = await api.request(SUBSCRIPTIONS, {});
  return pick('image list', typed, imageListSubscriptions, (s) => [s.url], 'list ls');
}

async function publishedOf(api: Api, typed: string) {
  const { publishedImageLists } = await api.request(PUBLISHED_LISTS, {});
  return pick(
    'published list',
    typed,
    publishedImageLists,
    (l) => [l.title, l.url],
    'list published',
  );
}

const ENDORSER_COLUMNS: readonly Column[] = [
  { key: 'id', header: 'ID', format: (v) => shortId(String(v)) },
  { key: 'dn', header: 'DN' },
  { key: 'caDn', header: 'CA' },
  { key: 'createdAt', header: 'Added', format: (v) => ago(v as string) },
];

const SUBSCRIPTION_COLUMNS: readonly Column[] = [
  { key: 'id', header: 'ID', format: (v) => shortId(String(v)) },
  { key: 'url', header: 'URL' },
  { key: 'state', header: 'State', state: true },
  { key: 'title', header: 'Title' },
  { key: 'listVersion', header: 'Version' },
  { key: 'expiresAt', header: 'Expires', format: (v) => ago(v as string | null) },
  { key: 'checkedAt', header: 'Checked', format: (v) => ago(v as string | null) },
  { key: 'lastError', header: 'Error', format: (v) => String(v ?? '') },
];

// An image's name in a row ({ id, name }), or null for none.
const nameOf = (image: Json | undefined): string | null =>
  image && typeof image === 'object' && 'name' in image ? String(image.name) : null;

// The catalog image of an entry: the one imported, else the one being imported.
function imageName(image: Json, row: Row): string {
  const importing = nameOf(row.importing);
  return nameOf(image) ?? (importing ? `${importing} (importing)` : '-');
}

const ENTRY_COLUMNS: readonly Column[] = [
  { key: 'id', header: 'ID', format: (v) => shortId(String(v)) },
  { key: 'title', header: 'Title' },
  { key: 'version', header: 'Version' },
  { key: 'state', header: 'State', state: true },
  { key: 'image', header: 'Image', format: imageName },
  { key: 'stateReason', header: 'Reason' },
];

const PUBLISHED_COLUMNS: readonly Column[] = [
  { key: 'id', header: 'ID', format: (v) => shortId(String(v)) },
  { key: 'title', header: 'Title' },
  { key: 'version', header: 'Version', align: 'right' },
  {
    key: 'images',
    header: 'Images',
    align: 'right',
    format: (v) => String(Array.isArray(v) ? v.length : 0),
  },
  { key: 'expiresAt', header: 'Expires', format: (v) => ago(v as string) },
  { key: 'url', header: 'URL' },
];

// How a check of a list went, for people: `VALID`, or `REJECTED: why`.
const verdict = (s: { readonly state: string; readonly lastError: string | null }) =>
  s.lastError ? `${s.state}: ${s.lastError}` : s.state;

/**
 * The commands about signed image lists (admins only on the server): whom to trust
 * (endorsers), the lists followed and their images, and the lists this cloud publishes.
 */
export const imageListCommands: readonly CommandSpec[] = [
  {
    words: ['endorser', 'ls'],
    aliases: ['list'],
    summary: 'List the endorsers whose signed image lists this cloud trusts.',
    async run(ctx) {
      const { endorsers } = await ctx.api().request(ENDORSERS, {});
      return table(ENDORSER_COLUMNS, endorsers);
    },
  },
  {
    words: ['endorser', 'add'],
    summary:
      'Trust image lists signed by the certificate with this DN, issued under the CA in a PEM file.',
    args: [
      { name: 'dn', description: 'The signing certificate’s DN: /DC=org/CN=name or RFC 4514' },
      { name: 'ca-cert-file', description: 'The CA’s certificate, a PEM file', complete: 'file' },
    ],
    async run(ctx, input) {
      const path = input.arg('ca-cert-file');
      const caCertificate = await readText(path);
      const out = await ctx
        .api()
        .mutate(ENDORSER_ADD, { input: { dn: input.arg('dn'), caCertificate } }, 'endorserAdd');
      const e = out.endorser as NonNullable<typeof out.endorser>;
      return done(`trusting ${e.dn} under ${e.caDn} (${shortId(e.id)})`, e);
    },
  },
  {
    words: ['endorser', 'rm'],
    aliases: ['remove'],
    summary: 'Stop trusting an endorser: their lists are rejected from the next check on.',
    args: [{ name: 'endorser', description: 'Its id or DN' }],
    async run(ctx, input) {
      const api = ctx.api();
      const { endorsers } = await api.request(ENDORSERS, {});
      const e = pick('endorser', input.arg('endorser'), endorsers, (x) => [x.dn], 'endorser ls');
      await api.mutate(ENDORSER_REMOVE, { id: e.id }, 'endorserRemove');
      return done(`no longer trusting ${e.dn}`, { id: e.id });
    },
  },
  {
    words: ['list', 'ls'],
    summary: 'List the signed image lists this cloud follows, with how their last check went.',
    async run(ctx) {
      const { imageListSubscriptions } = await ctx.api().request(SUBSCRIPTIONS, {});
      return table(SUBSCRIPTION_COLUMNS, imageListSubscriptions);
    },
  },
  {
    words: ['list', 'show'],
    summary: 'Show the images of a followed list: their versions, states and catalog images.',
    args: [{ name: 'list', description: 'Its id or URL' }],
    async run(ctx, input) {
      const api = ctx.api();
      const sub = await subscriptionOf(api, input.arg('list'));
      const { node } = await api.request(ENTRIES, { id: sub.id });
      if (!node || !('entries' in node))
        throw new CliError('NOT_FOUND', `no image list ${input.arg('list')}`);
      return table(ENTRY_COLUMNS, node.entries);
    },
  },
  {
    words: ['list', 'subscribe'],
    summary:
      'Follow a signed image list: it is checked at once, then on a schedule. Trust its endorser first.',
    args: [{ name: 'url', description: 'Where the signed list is served' }],
    options: [
      { name: 'auto-import', description: 'Import each new image or version as it is listed' },
      { name: 'public', description: 'Make the imported images public' },
    ],
    async run(ctx, input) {
      const out = await ctx.api().mutate(
        SUBSCRIBE,
        {
          input: {
            url: input.arg('url'),
            autoImport: input.flag('auto-import'),
            publicImages: input.flag('public'),
          },
        },
        'imageListSubscribe',
      );
      const s = out.subscription as NonNullable<typeof out.subscription>;
      return done(`following ${s.url} (${shortId(s.id)}): ${verdict(s)}`, s);
    },
  },
  {
    words: ['list', 'refresh'],
    summary: 'Check a followed list now.',
    args: [{ name: 'list', description: 'Its id or URL' }],
    async run(ctx, input) {
      const api = ctx.api();
      const { id } = await subscriptionOf(api, input.arg('list'));
      const out = await api.mutate(REFRESH, { id }, 'imageListRefresh');
      const s = out.subscription as NonNullable<typeof out.subscription>;
      return done(`checked ${s.url}: ${verdict(s)}`, s);
    },
  },
  {
    words: ['list', 'unsubscribe'],
    summary:
      'Stop following a list: its imported images stay for the VMs made from them, but expire.',
    args: [{ name: 'list', description: 'Its id or URL' }],
    async run(ctx, input) {
      const api = ctx.api();
      const s = await subscriptionOf(api, input.arg('list'));
      await api.mutate(UNSUBSCRIBE, { id: s.id }, 'imageListUnsubscribe');
      return done(`no longer following ${s.url}`, { id: s.id });
    },
  },
  {
    words: ['list', 'import'],
    summary:
      'Import the listed version of a list’s image, checked against the list’s SHA-512; waits unless --no-wait.',
    args: [{ name: 'entry', description: 'Its id or title (see `list show`)' }],
    async run(ctx, input) {
      const api = ctx.api();
      const { imageListSubscriptions } = await api.request(ALL_ENTRIES, {});
      const listed = imageListSubscriptions.flatMap((s) => s.entries);
      const { id } = pick(
        'list image',
        input.arg('entry'),
        listed,
        (e) => [e.title, e.identifier],
        'list show <list>',
      );
      const out = await api.mutate(IMPORT, { id }, 'imageListEntryImport');
      const entry = out.entry as NonNullable<typeof out.entry>;
      // A failure to start (a URL the policy refuses, say) comes back as the entry's state.
      if (entry.state === 'FAILED')
        throw new CliError('REFUSED', `importing ${entry.title}: ${entry.stateReason}`);
      const image = entry.importing;
      if (!image) return done(`${entry.title} ${entry.version}: ${entry.state}`, entry);
      const operation = out.operation;
      const label = `importing ${entry.title} ${entry.version}`;
      return followed(ctx, operation, label, async () => {
        const { node } = await api.request(ENTRY_NOW, { id });
        const now = node && 'title' in node ? node : entry;
        return done(
          `imported ${now.title} ${now.version} as image ${image.name} (${shortId(image.id)})`,
          { ...now, operation: operation?.id ?? null },
        );
      });
    },
  },
  {
    words: ['list', 'publish'],
    summary:
      'Sign a list of this cloud’s public images with the controller’s endorser certificate and serve it; --list publishes a new version of one.',
    args: [
      { name: 'title', description: 'The list’s title' },
      {
        name: 'image',
        description: 'Public, available images by name or id',
        variadic: true,
        complete: 'image',
      },
    ],
    options: [
      {
        name: 'expires',
        value: 'time',
        description: 'When subscribers stop trusting it: ISO-8601, or a span (30d)',
      },
      {
        name: 'description',
        value: 'text',
        description: 'What the list holds (a new version keeps the last one’s)',
      },
      { name: 'list', value: 'list', description: 'A published list to publish a new version of' },
    ],
    async run(ctx, input) {
      const typed = input.rest('image');
      if (typed.length === 0)
        throw new CliError('USAGE', 'list publish needs an <image>', {
          hint: 'usage: list publish <title> <image>... --expires 30d',
        });
      const expires = input.option('expires');
      if (!expires)
        throw new CliError('USAGE', 'list publish needs --expires', {
          hint: 'e.g. --expires 30d (at most 366 days ahead)',
        });
      const expiresAt = parseTime(expires, 1).toISOString();
      const api = ctx.api();
      const images: string[] = [];
      for (const t of typed) images.push(await resolveRef(api, 'image', t));
      const typedList = input.option('list');
      const previous = typedList ? await publishedOf(api, typedList) : null;
      const out = await api.mutate(
        PUBLISH,
        {
          input: {
            title: input.arg('title'),
            images,
            expiresAt,
            // The server takes a version's input whole: a new version keeps the description
            // unless told otherwise.
            description: input.option('description') ?? previous?.description ?? '',
            list: previous?.id ?? null,
          },
        },
        'imageListPublish',
      );
      const l = out.list as NonNullable<typeof out.list>;
      return done(`published ${l.title} version ${l.version} at ${l.url}`, l);
    },
  },
  {
    words: ['list', 'unpublish'],
    summary:
      'Stop serving a published list and its files; subscribers keep its images until the version they hold expires.',
    args: [{ name: 'list', description: 'Its id, title or URL' }],
    async run(ctx, input) {
      const api = ctx.api();
      const l = await publishedOf(api, input.arg('list'));
      await api.mutate(UNPUBLISH, { id: l.id }, 'imageListUnpublish');
      return done(`unpublished ${l.title} (${l.url})`, { id: l.id });
    },
  },
  {
    words: ['list', 'published'],
    summary: 'List the signed image lists this cloud publishes, with where they are served.',
    async run(ctx) {
      const { publishedImageLists } = await ctx.api().request(PUBLISHED_LISTS, {});
      return table(PUBLISHED_COLUMNS, publishedImageLists);
    },
  },
];
