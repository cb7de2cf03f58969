import { GraphQLError } from 'graphql';
import { UPLOAD_PREFIX, type UploadRef } from '../server/uploads.ts';
import { builder } from './builder.ts';

/**
 * UploadScalar is a file sent with the request as a GraphQL multipart request: in the JSON
 * operations the variable is null, and the server puts the spooled file's reference there.
 */
export const UploadScalar = builder.scalarType('Upload', {
  description:
    'A file sent with a GraphQL multipart request (graphql-multipart-request-spec); only as a variable.',
  serialize: () => {
    throw new GraphQLError('Upload is an input type');
  },
  parseValue: (v): UploadRef => {
    if (typeof v === 'string' && v.startsWith(UPLOAD_PREFIX)) return v as UploadRef;
    throw new GraphQLError('send the file as a GraphQL multipart request', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  },
});
