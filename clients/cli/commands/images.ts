import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { graphql } from '../../graphql/graphql.ts';
import { CliError } from '../api/cli-error.ts';
import { followed } from '../operations/wait.ts';
import { ago, bytes } from '../output/format.ts';
import { type Column, done, item, table } from '../output/output.ts';
import { ProgressDisplay } from '../output/progress.ts';
import { shortId } from '../resources/ids.ts';
import { allPages, PAGE } from '../resources/pages.ts';
import { resolveRef } from '../resources/refs.ts';
import type { CommandContext, CommandSpec } from './command.ts';
import { renameCommand } from './rename.ts';
import { shareCommands } from './shares.ts';

const IMAGE = `id name description state stateReason format sizeBytes virtualSizeBytes sha512
  sourceUrl public myRole owner { email } createdAt`;
const IMAGES = graphql(`query Images($text: String, $after: String, $first: Int!) {
  images(filter: { text: $text }, first: $first, after: $after) {
    edges { node { ${IMAGE} } } pageInfo { hasNextPage endCursor } } }`);
const ONE = graphql(`query Image($id: ID!) { node(id: $id) { ... on Image { ${IMAGE} } } }`);
const IMPORT = graphql(`mutation ImageImport($input: ImageImportInput!) {
  imageImport(input: $input) { image { ${IMAGE} } operation { id } userErrors { code field message } } }`);
const UPLOAD = graphql(`mutation ImageUpload($input: ImageUploadInput!) {
  imageUpload(input: $input) { image { ${IMAGE} } userErrors { code field message } } }`);
const UPDATE = graphql(`mutation ImageUpdate($input: ImageUpdateInput!) {
  imageUpdate(input: $input) { image { ${IMAGE} } userErrors { code field message } } }`);
const REMOVE = graphql(`mutation ImageRemove($id: ID!, $force: Boolean) {
  imageRemove(input: { id: $id, force: $force }) { userErrors { code field message } } }`);
const SHARES = graphql(`query ImageShares($id: ID!) {
  node(id: $id) { ... on Image { shares { role user { email name } } } } }`);
const SHARE = graphql(`mutation ImageShare($input: ImageShareInput!) {
  imageShare(input: $input) { userErrors { code field message } } }`);
const UNSHARE = graphql(`mutation ImageUnshare($input: ImageUnshareInput!) {
  imageUnshare(input: $input) { userErrors { code field message } } }`);

type ImageRow = NonNullable<Awaited<ReturnType<typeof imageById>>>;

const owner = (_v: unknown, r: { readonly [k: string]: unknown }) =>
  (r.owner as { email?: string } | null)?.email ?? '-';

const COLUMNS: readonly Column[] = [
  { key: 'id', header: 'ID', format: (v) => shortId(String(v)) },
  { key: 'name', header: 'Name' },
  { key: 'state', header: 'State', state: true },
  { key: 'format', header: 'Format' },
  { key: 'sizeBytes', header: 'Size', align: 'right', format: (v) => bytes(v as string | null) },
  {
    key: 'virtualSizeBytes',
    header: 'Disk',
    align: 'right',
    format: (v) => bytes(v as string | null),
  },
  { key: 'public', header: 'Public', format: (v) => (v ? 'yes' : '') },
  { key: 'owner', header: 'Owner', format: owner },
  { key: 'createdAt', header: 'Created', format: (v) => ago(v as string) },
];

const DETAIL: readonly Column[] = [
  { key: 'id', header: 'ID' },
  { key: 'name', header: 'Name' },
  { key: 'description', header: 'Description' },
  { key: 'state', header: 'State', state: true },
  { key: 'stateReason', header: 'Why' },
  { key: 'format', header: 'Format' },
  { key: 'sizeBytes', header: 'Size', format: (v) => bytes(v as string | null) },
  { key: 'virtualSizeBytes', header: 'Disk size', format: (v) => bytes(v as string | null) },
  { key: 'sha512', header: 'SHA-512' },
  { key: 'sourceUrl', header: 'From' },
  { key: 'public', header: 'Public', format: (v) => (v ? 'yes' : 'no') },
  { key: 'owner', header: 'Owner', format: owner },
  { key: 'myRole', header: 'Your role' },
  { key: 'createdAt', header: 'Created', format: (v) => ago(v as string) },
];

async function imageById(ctx: CommandContext, id: string) {
  const { node } = await ctx.api().request(ONE, { id });
  return node && 'format' in node ? node : null;
}

async function reported(ctx: CommandContext, id: string, message: string) {
  const image = await imageById(ctx, id);
  return done(message, image ?? { id });
}

const IMAGE_ARG = { name: 'image', description: 'Name or id', complete: 'image' } as const;

/** The commands about images: list, import, upload, change, share, remove. */
export const imageCommands: readonly CommandSpec[] = [
  {
    words: ['image', 'ls'],
    aliases: ['list'],
    summary:
      'List the images you may use (yours, shared with you, public); the query matches name or description.',
    args: [{ name: 'query', description: 'Text to look for', optional: true }],
    async run(ctx, input) {
      const api = ctx.api();
      const text = input.optionalArg('query') ?? null;
      const images = await allPages(
        async (after) => (await api.request(IMAGES, { text, after, first: PAGE })).images,
      );
      return table(COLUMNS, images);
    },
  },
  {
    words: ['image', 'show'],
    summary: 'Show an image.',
    args: [IMAGE_ARG],
    async run(ctx, input) {
      const image = await imageById(ctx, await resolveRef(ctx.api(), 'image', input.arg('image')));
      if (!image) throw new CliError('NOT_FOUND', `no image ${input.arg('image')}`);
      return item(DETAIL, image);
    },
  },
  {
    words: ['image', 'add'],
    aliases: ['import'],
    summary:
      'Import an image from an http(s) URL, with its progress (give --sha512 to have it checked).',
    args: [
      { name: 'url', description: 'Where the qcow2 or raw file is' },
      { name: 'name', description: 'What to call it' },
      { name: 'desc', description: 'What it is', optional: true, variadic: true },
    ],
    options: [{ name: 'sha512', value: 'hex', description: 'The SHA-512 the file must have' }],
    async run(ctx, input) {
      const name = input.arg('name');
      const out = await ctx.api().mutate(
        IMPORT,
        {
          input: {
            url: input.arg('url'),
            name,
            description: input.rest('desc').join(' ') || null,
            sha512: input.option('sha512') ?? null,
          },
        },
        'imageImport',
      );
      const image = out.image as ImageRow;
      return followed(ctx, out.operation, `importing ${name}`, () =>
        reported(ctx, image.id, `imported image ${name} (${shortId(image.id)})`),
      );
    },
  },
  {
    words: ['image', 'upload'],
    summary: 'Upload a qcow2 or raw file from this machine as an image, with its progress.',
    args: [
      { name: 'file', description: 'The file', complete: 'file' },
      { name: 'name', description: 'What to call it' },
      { name: 'desc', description: 'What it is', optional: true, variadic: true },
    ],
    options: [{ name: 'sha512', value: 'hex', description: 'The SHA-512 the file must have' }],
    async run(ctx, input) {
      const path = input.arg('file');
      const size = await stat(path).then(
        (s) => s.size,
        (err: NodeJS.ErrnoException) => {
          throw new CliError('USAGE', `cannot read ${path} (${err.code})`);
        },
      );
      const name = input.arg('name');
      const progress = new ProgressDisplay(ctx);
      const out = await ctx
        .api()
        .upload(
          UPLOAD,
          {
            input: {
              file: null as never,
              name,
              description: input.rest('desc').join(' ') || null,
              sha512: input.option('sha512') ?? null,
            },
          },
          'imageUpload',
          'input.file',
          { path, name: basename(path) },
          (sent) =>
            progress.show({
              label: `uploading ${name}`,
              fraction: sent / (size || 1),
              phase: sent === size ? 'checking' : null,
              transfer: progress.transfer(sent, size),
            }),
        )
        .finally(() => progress.clear());
      const image = out.image as ImageRow;
      return done(
        `uploaded image ${name} (${shortId(image.id)}), ${bytes(image.sizeBytes)}`,
        image,
      );
    },
  },
  renameCommand('image', async (api, input) => {
    const out = await api.mutate(UPDATE, { input }, 'imageUpdate');
    return out.image as ImageRow;
  }),

  {
    words: ['image', 'public'],
    summary:
      'Make an image public (everyone may make VMs from it), or private again with --off. Admins only.',
    args: [IMAGE_ARG],
    options: [{ name: 'off', description: 'Make it private' }],
    async run(ctx, input) {
      const api = ctx.api();
      const id = await resolveRef(api, 'image', input.arg('image'));
      const pub = !input.flag('off');
      const out = await api.mutate(UPDATE, { input: { id, public: pub } }, 'imageUpdate');
      return done(
        `image ${out.image?.name} is ${pub ? 'public' : 'private'}`,
        out.image as ImageRow,
      );
    },
  },
  {
    words: ['image', 'rm'],
    aliases: ['remove'],
    summary:
      'Remove an image. One that VMs were made from is refused unless --force (the VMs keep their disks).',
    args: [IMAGE_ARG],
    options: [{ name: 'force', description: 'Remove it even if VMs were made from it' }],
    async run(ctx, input) {
      const api = ctx.api();
      const id = await resolveRef(api, 'image', input.arg('image'));
      await api.mutate(REMOVE, { id, force: input.flag('force') }, 'imageRemove');
      return done(`removed image ${input.arg('image')}`, { id });
    },
  },
  ...shareCommands('image', {
    list: async (api, id) => {
      const { node } = await api.request(SHARES, { id });
      return node && 'shares' in node ? node.shares : [];
    },
    share: async (api, input) => void (await api.mutate(SHARE, { input }, 'imageShare')),
    unshare: async (api, input) => void (await api.mutate(UNSHARE, { input }, 'imageUnshare')),
  }),
];
