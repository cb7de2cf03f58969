import { type FormEvent, useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../../../graphql/graphql.ts';
import { ErrorList } from '../layout/error-list.tsx';

const IMAGE_IMPORT = graphql(`mutation ImageImport($input: ImageImportInput!) {
  imageImport(input: $input) { image { id } operation { id } userErrors { code field message } } }`);

/** ImageImport asks the controller to download an image from a URL; the list shows progress. */
export function ImageImport({ onStarted }: { onStarted: () => void }) {
  const [url, setUrl] = useState('');
  const [name, setName] = useState('');
  const [sha512, setSha512] = useState('');
  const [result, importImage] = useMutation(IMAGE_IMPORT);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await importImage({
      input: { url: url.trim(), name: name.trim(), sha512: sha512.trim() || null },
    });
    if (r.data?.imageImport.image) {
      setUrl('');
      setName('');
      setSha512('');
      onStarted();
    }
  };
  return (
    <form className="panel" onSubmit={submit} aria-labelledby="import-title">
      <h2 id="import-title">Import from a URL</h2>
      <label>
        URL
        <input type="url" required value={url} onChange={(e) => setUrl(e.target.value)} />
      </label>
      <label>
        Name
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        SHA-512 (optional)
        <input value={sha512} onChange={(e) => setSha512(e.target.value)} />
      </label>
      <ErrorList error={result.error} userErrors={result.data?.imageImport.userErrors} />
      <button type="submit" disabled={result.fetching}>
        Import
      </button>
    </form>
  );
}
