import { createContext, useContext } from 'react';
import { graphql, type ResultOf } from '../../../graphql/graphql.ts';

/** VIEWER_QUERY asks who is signed in: null when nobody is. */
export const VIEWER_QUERY = graphql(`query Viewer { viewer { id email name isAdmin } }`);

/** Viewer is the signed-in user the console is shown to. */
export type Viewer = NonNullable<ResultOf<typeof VIEWER_QUERY>['viewer']>;

const ViewerContext = createContext<Viewer | null>(null);

/** ViewerProvider gives the pages below it the signed-in user. */
export const ViewerProvider = ViewerContext.Provider;

/** useViewer is the signed-in user; only pages shown after sign-in call it. */
export function useViewer(): Viewer {
  const viewer = useContext(ViewerContext);
  if (!viewer) throw new Error('useViewer outside a signed-in console');
  return viewer;
}
