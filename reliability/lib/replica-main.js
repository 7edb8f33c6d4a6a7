require('@backstage/cli/config/nodeTransform.cjs');
require('./replica.ts');
