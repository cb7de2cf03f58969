import { type FormEvent, useState } from 'react';
import { stringifyDocument } from 'urql';
import { graphql, type ResultOf } from '../../../graphql/graphql.ts';
import { bytes } from '../../../values/units.ts';
import { GRAPHQL_PATH } from '../api/client.ts';
import { ErrorList, type ShownError } from '../layout/error-list.tsx';

const IMAGE_UPLOAD = graphql(`mutation ImageUpload($input: ImageUploadInput!) {
  imageUpload(input: $input) { image { id } userErrors { code field message } } }`);

type UploadResult = { data?: ResultOf<typeof IMAGE_UPLOAD>; errors?: { message: string }[] };

// The GraphQL multipart request: the document with the file's variable null, the map saying
// where the file goes, then the file. XMLHttpRequest, because fetch reports no upload progress.
function upload(
  file: File,
  name: string,
  onProgress: (sent: number) => void,
): Promise<UploadResult> {
  const body = new FormData();
  body.append(
    'operations',
    JSON.stringify({
      query: stringifyDocument(IMAGE_UPLOAD),
      variables: { input: { file: null, name } },
    }),
  );
  body.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
  body.append('0', file, file.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', GRAPHQL_PATH);
    xhr.responseType = 'json';
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () =>
      xhr.response && typeof xhr.response === 'object'
        ? resolve(xhr.response as UploadResult)
        : reject(new Error(`the controller answered ${xhr.status}`));
    xhr.onerror = () => reject(new Error('the upload was cut off'));
    xhr.send(body);
  });
}

/** ImageUpload sends a qcow2 or raw file from this computer as an image, with its progress. */
export function ImageUpload({ onDone }: { onDone: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [sent, setSent] = useState<number | null>(null);
  const [errors, setErrors] = useState<readonly ShownError[]>([]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setErrors([]);
    setSent(0);
    try {
      const r = await upload(file, name.trim() || file.name, setSent);
      const payload = r.data?.imageUpload;
      const problems = [
        ...(payload?.userErrors ?? []),
        ...(r.errors ?? []).map((g) => ({ code: 'ERROR', message: g.message })),
      ];
      setErrors(problems);
      if (payload?.image) {
        setFile(null);
        setName('');
        onDone();
      }
    } catch (err) {
      setErrors([{ code: 'NETWORK', message: (err as Error).message }]);
    } finally {
      setSent(null);
    }
  };
  return (
    <form className="panel" onSubmit={submit} aria-labelledby="upload-title">
      <h2 id="upload-title">Upload a file</h2>
      <label>
        qcow2 or raw file
        <input type="file" required onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
      </label>
      <label>
        Name
        <input value={name} placeholder={file?.name} onChange={(e) => setName(e.target.value)} />
      </label>
      {sent !== null && file && (
        <div className="progress">
          <progress max={file.size || 1} value={sent} aria-label={`Uploading ${file.name}`} />
          <span>
            {bytes(sent)} of {bytes(file.size)}
            {sent === file.size ? ', checking' : ''}
          </span>
        </div>
      )}
      <ErrorList userErrors={errors} />
      <button type="submit" disabled={!file || sent !== null}>
        Upload
      </button>
    </form>
  );
}
