import { resolve } from 'node:path';

import { defineConfig } from '@hey-api/openapi-ts';

export default defineConfig({
  input: process.env.AUTHD_OPENAPI ?? '../../openapi/openapi.json',
  output: {
    path: 'src/client',
    // Named, not searched for: the search starts where the generator is
    // installed, which is a cache outside this directory.
    tsConfigPath: resolve('tsconfig.json'),
  },
  plugins: ['@hey-api/client-fetch'],
});
