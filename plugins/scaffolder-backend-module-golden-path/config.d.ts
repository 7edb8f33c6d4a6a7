export interface Config {
  goldenPath?: {
    /** Registry prefix of service images in generated manifests, e.g. `registry.localhost:5000`. */
    imageRegistry?: string;
  };
}
