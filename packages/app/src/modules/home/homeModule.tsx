import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { HomePageWidgetBlueprint } from '@backstage/plugin-home-react/alpha';
import { MarkdownContent } from '@backstage/core-components';

const content = `
Everything you need to code, ship and run a service, in one place.

- **What runs where** — open a service in the [Catalog](/catalog) and its **Releases** tab.
- **Ship** — promote a build with a click, roll back to any earlier one; every release is a commit in the
  GitOps config repo.
- **New service** — [Create](/create) asks five questions and ends with your service in production.
- **Who owns it, who is on call** — every service page shows its squad and the on-call card.
`;

const gettingStartedWidget = HomePageWidgetBlueprint.make({
  name: 'getting-started',
  params: {
    name: 'GettingStarted',
    title: 'Getting started',
    description: 'What this portal does for you',
    components: async () => ({
      Content: () => <MarkdownContent content={content} />,
    }),
  },
});

export const homeModule = createFrontendModule({
  pluginId: 'home',
  extensions: [gettingStartedWidget],
});
