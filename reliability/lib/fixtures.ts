export const ENVS = ['dev', 'staging', 'prod'];

export function manifest(service: string, tag: string) {
  return `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${service}\n  namespace: payments\nspec:\n  template:\n    spec:\n      containers:\n        - name: ${service}\n          image: registry.local/${service}:${tag}\n`;
}

export function upload(service: string, n: number, branch = 'main', envs = ENVS) {
  const sha = n.toString(16).padStart(10, '0').padEnd(40, 'a');
  const id = `${branch}-${sha.slice(0, 10)}-cccccccccc`;
  return {
    id,
    body: {
      spec: {
        id,
        service,
        namespace: 'payments',
        squad: 'payments',
        application: { branch, sha, authorName: 'Dev', authorEmail: 'dev@bank.example', message: `build ${n}`, name: service },
      },
      manifests: Object.fromEntries(envs.map(e => [e, { 'deployment.yaml': manifest(service, id) }])),
    },
  };
}
