import { createFrontendPlugin, PageBlueprint } from '@backstage/frontend-plugin-api';

/** `/git-host/<repo>/<tree|blob>/<ref>/<path>`: where "View source" on the local git host lands. */
const repoBrowserPage = PageBlueprint.make({
  params: {
    path: '/git-host',
    loader: () => import('./RepoBrowserPage').then(m => <m.RepoBrowserPage />),
  },
});

/** The repository browser of the embedded git host. */
export const repoBrowserPlugin = createFrontendPlugin({
  pluginId: 'git-host',
  extensions: [repoBrowserPage],
});
