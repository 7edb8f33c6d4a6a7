import YAML from 'yaml';
import { ServiceKind } from './names';

/** What the generated files need to know about the new service. */
export interface ServiceDescription {
  name: string;
  squad: string;
  system?: string;
  description: string;
  kind: ServiceKind;
  /** Environments to write manifests for, e.g. dev, staging, prod. */
  environments: string[];
  /** Which environments are production (more replicas). */
  productionEnvironments?: string[];
  /** Container registry prefix for the image, e.g. `registry.localhost:5000`. */
  imageRegistry?: string;
}

const PORTS: Record<ServiceKind, number> = {
  node: 8080,
  go: 8080,
  static: 8080,
};

/** Container image of a service; CI pushes `<image>:<sha>`, manifests start at the default branch tag. */
export function imageFor(svc: ServiceDescription, tag: string): string {
  return `${svc.imageRegistry ?? 'registry.localhost:5000'}/${svc.squad}/${
    svc.name
  }:${tag}`;
}

function yaml(doc: unknown): string {
  return YAML.stringify(doc, { lineWidth: 0 });
}

/** shuttle.yaml: ownership lives in `vars` (the shuttle catalog module reads it). */
export function shuttleYaml(svc: ServiceDescription): string {
  const vars: Record<string, unknown> = {
    service: svc.name,
    squad: svc.squad,
  };
  if (svc.system) vars.system = svc.system;
  vars.k8s = { namespace: svc.squad };
  return yaml({ plan: false, vars, scripts: {} });
}

/**
 * catalog-info.yaml. No `spec.owner`: the shuttle catalog module takes ownership from
 * shuttle.yaml, which is the single source of truth for who owns the service.
 */
export function catalogInfoYaml(svc: ServiceDescription): string {
  const spec: Record<string, unknown> = {
    type: svc.kind === 'static' ? 'website' : 'service',
    lifecycle: 'experimental',
  };
  if (svc.system) spec.system = svc.system;
  return yaml({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name: svc.name,
      description: svc.description,
      annotations: {
        'backstage.io/techdocs-ref': 'dir:.',
        'backstage.io/kubernetes-id': svc.name,
        'backstage.io/kubernetes-namespace': svc.squad,
      },
      tags: [svc.kind],
    },
    spec,
  });
}

/** Kubernetes Deployment + Service for one environment. */
export function k8sManifests(
  svc: ServiceDescription,
  env: string,
): Record<string, string> {
  const prod = (svc.productionEnvironments ?? ['prod']).includes(env);
  const labels = {
    app: svc.name,
    'app.kubernetes.io/part-of': svc.system ?? svc.name,
    squad: svc.squad,
  };
  const port = PORTS[svc.kind];
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: svc.name,
      namespace: svc.squad,
      labels: { ...labels, environment: env },
    },
    spec: {
      replicas: prod ? 2 : 1,
      selector: { matchLabels: { app: svc.name } },
      template: {
        metadata: { labels: { ...labels, environment: env } },
        spec: {
          containers: [
            {
              name: svc.name,
              image: imageFor(svc, 'latest'),
              ports: [{ name: 'http', containerPort: port }],
              env: [
                { name: 'PORT', value: String(port) },
                { name: 'ENVIRONMENT', value: env },
              ],
              readinessProbe: { httpGet: { path: '/healthz', port: 'http' } },
              resources: {
                requests: { cpu: '50m', memory: '64Mi' },
                limits: { memory: prod ? '256Mi' : '128Mi' },
              },
            },
          ],
        },
      },
    },
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: svc.name, namespace: svc.squad, labels },
    spec: {
      selector: { app: svc.name },
      ports: [{ name: 'http', port: 80, targetPort: 'http' }],
    },
  };
  return { 'deployment.yaml': yaml(deployment), 'service.yaml': yaml(service) };
}

/** The platform files every golden-path repository gets, on top of the skeleton code. */
export function platformFiles(svc: ServiceDescription): Record<string, string> {
  const files: Record<string, string> = {
    'shuttle.yaml': shuttleYaml(svc),
    'catalog-info.yaml': catalogInfoYaml(svc),
    'mkdocs.yml': yaml({
      site_name: svc.name,
      site_description: svc.description,
      nav: [{ Home: 'index.md' }],
      plugins: ['techdocs-core'],
    }),
    'docs/index.md': [
      `# ${svc.name}`,
      '',
      svc.description,
      '',
      `- Owner: squad \`${svc.squad}\` (from \`shuttle.yaml\`)`,
      svc.system ? `- System: \`${svc.system}\`` : undefined,
      `- Kind: ${svc.kind}`,
      '',
      '## Releasing',
      '',
      'CI builds every push and uploads an artifact to the release manager. Artifacts from the',
      'default branch are released to `dev` automatically; promote them from the portal or with',
      '`release-manager promote`. Only the default branch may reach `prod`.',
      '',
      '## Kubernetes',
      '',
      `Manifests per environment live under \`k8s/<environment>/\` (${svc.environments.join(
        ', ',
      )}).`,
      '',
    ]
      .filter(l => l !== undefined)
      .join('\n'),
  };
  for (const env of svc.environments) {
    for (const [file, content] of Object.entries(k8sManifests(svc, env))) {
      files[`k8s/${env}/${file}`] = content;
    }
  }
  return files;
}

const BUILD: Record<
  ServiceKind,
  { setup: string[]; build: string; test: string }
> = {
  node: {
    setup: [
      '      - uses: actions/setup-node@v4',
      '        with:',
      '          node-version: 22',
    ],
    build: 'npm ci && npm run build --if-present',
    test: 'npm test',
  },
  go: {
    setup: [
      '      - uses: actions/setup-go@v5',
      '        with:',
      "          go-version: '1.22'",
    ],
    build: 'go build ./...',
    test: 'go test ./...',
  },
  static: {
    setup: [],
    build: 'test -f public/index.html',
    test: 'grep -qi "<html" public/index.html',
  },
};

/**
 * `.github/workflows/ci.yaml` and `ci/pipeline.sh`: build, test, upload the artifact with the
 * release manager CLI (`release-manager artifact push --spec artifact.json --manifests <dir>`).
 * The script holds the steps so any CI system can run them; the workflow calls it.
 */
export function pipelineFiles(
  svc: Pick<ServiceDescription, 'name' | 'kind' | 'squad' | 'imageRegistry'>,
): Record<string, string> {
  const b = BUILD[svc.kind];
  const workflow = [
    `# CI for ${svc.name}: build, test, then upload the artifact to the release manager.`,
    '# Generated by the golden path; the steps live in ci/pipeline.sh so any CI system can run them.',
    'name: ci',
    'on:',
    '  push:',
    '    branches: ["**"]',
    '  workflow_dispatch: {}',
    'jobs:',
    '  build-test-upload:',
    '    runs-on: ubuntu-latest',
    '    steps:',
    '      - uses: actions/checkout@v4',
    ...b.setup,
    '      - name: Build',
    '        run: sh ci/pipeline.sh build',
    '      - name: Test',
    '        run: sh ci/pipeline.sh test',
    '      - name: Upload artifact to the release manager',
    '        env:',
    '          RELEASE_MANAGER_URL: ${{ vars.RELEASE_MANAGER_URL }}',
    '          RELEASE_MANAGER_TOKEN: ${{ secrets.RELEASE_MANAGER_TOKEN }}',
    '          RELEASE_MANAGER_CLI: npx --yes -p @devplane/plugin-release-manager-cli release-manager',
    '          # commit data through env, never spliced into the script',
    '          AUTHOR: ${{ github.event.head_commit.author.name }}',
    '          EMAIL: ${{ github.event.head_commit.author.email }}',
    '          MESSAGE: ${{ github.event.head_commit.message }}',
    '          CI_JOB_URL: ${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }}',
    '        run: sh ci/pipeline.sh upload',
    '',
  ].join('\n');
  const image = `${svc.imageRegistry ?? 'registry.localhost:5000'}/${
    svc.squad
  }/${svc.name}`;
  const script = `#!/usr/bin/env sh
# Build, test and upload ${svc.name} to the release manager: \`sh ci/pipeline.sh [build|test|upload]\`
# (no argument: all three). Upload needs RELEASE_MANAGER_URL, RELEASE_MANAGER_TOKEN and jq;
# RELEASE_MANAGER_CLI overrides the CLI command (default: release-manager).
set -eu
cd "$(dirname "$0")/.."
SERVICE=${svc.name}
NAMESPACE=${svc.squad}
IMAGE=${image}

build() {
  echo "--- build"
  ${b.build}
}

test_() {
  echo "--- test"
  ${b.test}
}

upload() {
  echo "--- upload artifact"
  BRANCH="\${BRANCH:-\${GITHUB_REF_NAME:-$(git rev-parse --abbrev-ref HEAD)}}"
  SHA="\${SHA:-\${GITHUB_SHA:-$(git rev-parse HEAD)}}"
  AUTHOR="\${AUTHOR:-$(git log -1 --format=%an)}"
  EMAIL="\${EMAIL:-$(git log -1 --format=%ae)}"
  MESSAGE="\${MESSAGE:-$(git log -1 --format=%s)}"
  SHA10=$(printf '%s' "$SHA" | cut -c1-10)
  ID="$(printf '%s' "$BRANCH" | tr -c 'A-Za-z0-9._-' '-')-$SHA10-$SHA10"
  jq -n --arg id "$ID" --arg service "$SERVICE" --arg ns "$NAMESPACE" --arg branch "$BRANCH" \\
    --arg sha "$SHA" --arg author "$AUTHOR" --arg email "$EMAIL" --arg msg "$MESSAGE" \\
    --arg job "\${CI_JOB_URL:-}" \\
    '{id:$id, service:$service, namespace:$ns, squad:$ns,
      application:{branch:$branch, sha:$sha, authorName:$author, authorEmail:$email,
                   message:$msg, name:$service},
      ci:({} + (if $job == "" then {} else {jobUrl:$job} end))}' > artifact.json
  # k8s/<env>/*.yaml with the image pinned to this commit
  rm -rf k8s-rendered
  for dir in k8s/*/; do
    env=$(basename "$dir")
    mkdir -p "k8s-rendered/$env"
    for f in "$dir"*.yaml; do
      sed "s#$IMAGE:latest#$IMAGE:$SHA#" "$f" > "k8s-rendered/$env/$(basename "$f")"
    done
  done
  set +e
  \${RELEASE_MANAGER_CLI:-release-manager} artifact push --spec artifact.json --manifests k8s-rendered
  code=$?
  set -e
  # 5 = conflict: this artifact exists already (the golden path uploads the first commit itself)
  if [ "$code" -eq 5 ]; then echo "artifact $ID exists already"; code=0; fi
  return "$code"
}

case "\${1:-all}" in
  build) build ;;
  test) test_ ;;
  upload) upload ;;
  all) build; test_; upload ;;
  *) echo "usage: $0 [build|test|upload]" >&2; exit 2 ;;
esac
`;
  return { '.github/workflows/ci.yaml': workflow, 'ci/pipeline.sh': script };
}
