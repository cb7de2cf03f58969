import { type FormEvent, useRef, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../../graphql/graphql.ts';
import { ErrorList } from '../layout/error-list.tsx';
import { useViewer } from '../session/viewer.tsx';

const CHOICES = graphql(`query VmCreateChoices($admin: Boolean!) {
  images(first: 50, filter: { state: AVAILABLE }) { edges { node { id name } } }
  hosts(first: 50) @include(if: $admin) { edges { node { id name state } } }
} `);
const VM_CREATE = graphql(`mutation VmCreate($input: VmCreateInput!) {
  vmCreate(input: $input) { vm { id } operation { id } userErrors { code field message } } }`);

const MiB = 1024n * 1024n;
const GiB = 1024n * MiB;

/**
 * VmCreate is the button and dialog that make a VM: image, size, SSH keys, and for admins the
 * host. The new VM shows in the table by itself (its state events bring it).
 */
export function VmCreate() {
  const viewer = useViewer();
  const dialog = useRef<HTMLDialogElement>(null);
  const [open, setOpen] = useState(false);
  const [{ data }] = useQuery({
    query: CHOICES,
    variables: { admin: viewer.isAdmin },
    pause: !open,
    requestPolicy: 'network-only',
  });
  const [result, create] = useMutation(VM_CREATE);
  const [form, setForm] = useState({
    name: '',
    image: '',
    vcpus: '1',
    memoryMiB: '512',
    diskGiB: '',
    host: '',
    sshKeys: '',
  });
  const set = (field: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [field]: e.target.value }));
  const show = () => {
    setOpen(true);
    dialog.current?.showModal();
  };
  const close = () => {
    dialog.current?.close();
    setOpen(false);
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const keys = form.sshKeys
      .split('\n')
      .map((k) => k.trim())
      .filter(Boolean);
    const r = await create({
      input: {
        name: form.name.trim(),
        image: form.image,
        vcpus: Number(form.vcpus),
        memoryBytes: String(BigInt(form.memoryMiB || '0') * MiB),
        diskBytes: form.diskGiB ? String(BigInt(form.diskGiB) * GiB) : null,
        host: form.host || null,
        sshKeys: keys.length > 0 ? keys : null,
      },
    });
    if (r.data?.vmCreate.vm) {
      setForm((f) => ({ ...f, name: '' }));
      close();
    }
  };
  const images = data?.images.edges ?? [];
  return (
    <>
      <button type="button" className="primary" onClick={show}>
        Create VM
      </button>
      <dialog ref={dialog} aria-labelledby="create-title" onClose={() => setOpen(false)}>
        <form onSubmit={submit}>
          <h2 id="create-title">Create a VM</h2>
          <label>
            Name
            <input required value={form.name} onChange={set('name')} />
          </label>
          <label>
            Image
            <select required value={form.image} onChange={set('image')}>
              <option value="">Choose an image</option>
              {images.map(({ node }) => (
                <option key={node.id} value={node.id}>
                  {node.name}
                </option>
              ))}
            </select>
          </label>
          <div className="row">
            <label>
              vCPUs
              <input type="number" min={1} required value={form.vcpus} onChange={set('vcpus')} />
            </label>
            <label>
              Memory (MiB)
              <input
                type="number"
                min={16}
                required
                value={form.memoryMiB}
                onChange={set('memoryMiB')}
              />
            </label>
            <label>
              Disk (GiB, optional)
              <input type="number" min={1} value={form.diskGiB} onChange={set('diskGiB')} />
            </label>
          </div>
          {viewer.isAdmin && (
            <label>
              Host
              <select value={form.host} onChange={set('host')}>
                <option value="">Let Kumo place it</option>
                {(data?.hosts?.edges ?? []).map(({ node }) => (
                  <option key={node.id} value={node.id}>
                    {node.name} ({node.state})
                  </option>
                ))}
              </select>
            </label>
          )}
          <label>
            SSH public keys (one per line, optional)
            <textarea rows={3} value={form.sshKeys} onChange={set('sshKeys')} />
          </label>
          <ErrorList error={result.error} userErrors={result.data?.vmCreate.userErrors} />
          <div className="actions">
            <button type="submit" disabled={result.fetching}>
              Create
            </button>
            <button type="button" onClick={close}>
              Cancel
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}
