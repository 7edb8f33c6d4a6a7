import { createApp } from '@backstage/frontend-defaults';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import oncallPlugin from '@devplane/plugin-oncall/alpha';
import { navModule } from './modules/nav';
import { homeModule } from './modules/home';
import { authModule } from './modules/auth';
import { goldenPathScaffolderModule } from './modules/goldenPath';
import { repoBrowserPlugin } from './modules/repoBrowser';
import { shuttleWarningsModule } from './modules/shuttle';

export default createApp({
  features: [
    catalogPlugin,
    oncallPlugin,
    authModule,
    navModule,
    homeModule,
    goldenPathScaffolderModule,
    repoBrowserPlugin,
    shuttleWarningsModule,
  ],
});
