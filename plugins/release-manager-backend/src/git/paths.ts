/** Path of a service's release folder in the config repo. */
export function releaseDir(env: string, namespace: string, service: string): string {
  return `${env}/releases/${namespace}/${service}`;
}

/** Path of a service's policy file in the config repo. */
export function policyPath(service: string): string {
  return `policies/${service}.json`;
}
