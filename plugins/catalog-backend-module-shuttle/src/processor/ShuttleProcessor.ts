import { Entity } from '@backstage/catalog-model';
import { AlphaEntity, EntityStatusItem } from '@backstage/catalog-model/alpha';
import { LoggerService } from '@backstage/backend-plugin-api';
import {
  CatalogProcessor,
  CatalogProcessorEmit,
  processingResult,
} from '@backstage/plugin-catalog-node';
import { K8S_NAMESPACE, planBrowseUrl, planToString, ShuttleFile } from '../shuttle/parseShuttleYaml';
import { ShuttleFileReader } from '../shuttle/ShuttleFileReader';
import {
  ANNOTATION_KUBERNETES_NAMESPACE,
  ANNOTATION_MANAGED_BY_LOCATION,
  ANNOTATION_SHUTTLE_DUPLICATE_SERVICE,
  ANNOTATION_SHUTTLE_FILE,
  ANNOTATION_SHUTTLE_WARNINGS,
  ANNOTATION_SHUTTLE_PLAN,
  ANNOTATION_SHUTTLE_SERVICE,
  ANNOTATION_SHUTTLE_SQUAD,
  ANNOTATION_SOURCE_LOCATION,
  ShuttleSettings,
  defaultSettings,
  normalizeRef,
  ownerRefForSquad,
  shuttleUrlForSource,
} from '../settings';

type LocationSpec = Parameters<typeof processingResult.inputError>[0];

/** `status.items[].type` of the warnings this processor puts on entities. */
export const SHUTTLE_STATUS_TYPE = 'devplane.io/shuttle';

/** Answers whether a group ref exists in the catalog. */
export interface GroupLookup {
  has(ref: string): Promise<boolean>;
}

/** Options for {@link ShuttleProcessor}. */
export interface ShuttleProcessorOptions {
  reader: ShuttleFileReader;
  settings?: Partial<ShuttleSettings>;
  /** Where Groups are looked up; without it, squads are not checked. */
  groups?: GroupLookup;
  logger?: LoggerService;
}

/**
 * Reads the `shuttle.yaml` at the root of an entity's repository and takes over what it
 * declares: owner (from `vars.squad`), system, plan, Kubernetes namespace and service name.
 * Runs in `preProcessEntity`, before kind validation, so a Component without `spec.owner` in
 * its catalog-info.yaml becomes valid with the squad as owner.
 */
export class ShuttleProcessor implements CatalogProcessor {
  private readonly settings: ShuttleSettings;
  private readonly kinds: Set<string>;

  constructor(private readonly options: ShuttleProcessorOptions) {
    this.settings = { ...defaultSettings, ...options.settings };
    this.kinds = new Set(this.settings.kinds.map(k => k.toLowerCase()));
  }

  getProcessorName(): string {
    return 'ShuttleProcessor';
  }

  /** The shuttle.yaml URL for an entity, or undefined when it does not come from a repo. */
  shuttleUrlFor(entity: Entity, location: LocationSpec): string | undefined {
    const annotations = entity.metadata.annotations ?? {};
    const candidates: string[] = [];
    const source = annotations[ANNOTATION_SOURCE_LOCATION];
    if (source?.startsWith('url:')) candidates.push(source.slice(4));
    const managed = annotations[ANNOTATION_MANAGED_BY_LOCATION];
    if (managed?.startsWith('url:')) candidates.push(managed.slice(4));
    if (location.type === 'url') candidates.push(location.target);
    for (const c of candidates) {
      const url = shuttleUrlForSource(c);
      if (url) return url;
    }
    return undefined;
  }

  async preProcessEntity(
    entity: Entity,
    location: LocationSpec,
    emit: CatalogProcessorEmit,
    _originLocation?: LocationSpec,
  ): Promise<Entity> {
    if (!this.kinds.has(entity.kind.toLowerCase())) return entity;
    const url = this.shuttleUrlFor(entity, location);
    if (!url) return entity;

    const duplicate = entity.metadata.annotations?.[ANNOTATION_SHUTTLE_DUPLICATE_SERVICE];
    if (duplicate) {
      // set by the discovery provider: another repository declares the same vars.service
      const [service, other] = duplicate.split(' ');
      emit(
        processingResult.inputError(
          location,
          `Duplicate vars.service '${service}' in ${url}: ${other} declares it too; each service needs its own name (this repository is shown as '${entity.metadata.name}' until it has one)`,
        ),
      );
    }

    const result = await this.options.reader.read(url);
    switch (result.status) {
      case 'absent':
        return entity;
      case 'invalid':
        emit(processingResult.inputError(location, `Invalid shuttle.yaml at ${url}: ${result.reason}`));
        return entity;
      case 'error':
        emit(processingResult.generalError(location, `Could not read shuttle.yaml at ${url}: ${result.reason}`));
        return entity;
      default:
        return this.apply(entity, result.file, url, location, emit);
    }
  }

  private async apply(
    entity: Entity,
    file: ShuttleFile,
    url: string,
    location: LocationSpec,
    emit: CatalogProcessorEmit,
  ): Promise<Entity> {
    const { override } = this.settings;
    const annotations: Record<string, string> = { ...entity.metadata.annotations };
    const spec: Record<string, any> = { ...(entity.spec ?? {}) };
    const links = [...(entity.metadata.links ?? [])];
    const setAnnotation = (key: string, value: string | undefined) => {
      if (value === undefined) return;
      if (override || !annotations[key]) annotations[key] = value;
    };

    annotations[ANNOTATION_SHUTTLE_FILE] = url;
    setAnnotation(ANNOTATION_SHUTTLE_SQUAD, file.squad);
    setAnnotation(ANNOTATION_SHUTTLE_SERVICE, file.service);
    const namespace =
      file.namespace ?? (file.squad && K8S_NAMESPACE.test(file.squad) ? file.squad : undefined);
    setAnnotation(ANNOTATION_KUBERNETES_NAMESPACE, namespace);
    if (file.plan) {
      setAnnotation(ANNOTATION_SHUTTLE_PLAN, planToString(file.plan));
      const planUrl = planBrowseUrl(file.plan);
      if (planUrl && !links.some(l => l.url === planUrl)) {
        links.push({ url: planUrl, title: 'Shuttle plan', type: 'shuttle-plan' });
      }
    }

    if (file.squad) {
      const ownerRef = ownerRefForSquad(this.settings, file.squad);
      const explicit = typeof spec.owner === 'string' && spec.owner.length > 0;
      const usesSquad = !explicit || override || normalizeRef(spec.owner) === normalizeRef(ownerRef);
      if (usesSquad) {
        let known = true;
        if (this.settings.requireGroup && this.options.groups) {
          try {
            known = await this.options.groups.has(ownerRef);
          } catch (e) {
            emit(
              processingResult.generalError(
                location,
                `Could not check squad '${file.squad}' from ${url} against the catalog: ${(e as Error).message}`,
              ),
            );
            known = false;
          }
          if (!known) {
            emit(
              processingResult.inputError(
                location,
                `Unknown squad in shuttle.yaml at ${url}: vars.squad '${file.squad}' maps to ${ownerRef}, which is not a Group in the catalog`,
              ),
            );
          }
        }
        if (known && (!explicit || override)) spec.owner = ownerRef;
      }
    }

    const system = file.system ?? (this.settings.systemFromDomain ? file.domain : undefined);
    if (system && (override || !spec.system)) spec.system = system;

    // What shuttle would refuse but we can read (unknown top-level fields): a warning on the
    // entity — its status (kept by the catalog next to processing errors) and an annotation —
    // not a processing error, which would stop the entity from updating.
    const warnings = file.warnings.map(w => `shuttle.yaml at ${url}: ${w}`);
    delete annotations[ANNOTATION_SHUTTLE_WARNINGS];
    if (warnings.length) annotations[ANNOTATION_SHUTTLE_WARNINGS] = warnings.join('\n');
    const status = (entity as AlphaEntity).status;
    const otherItems = (status?.items ?? []).filter(i => i.type !== SHUTTLE_STATUS_TYPE);
    const items: EntityStatusItem[] = [
      ...otherItems,
      ...warnings.map(message => ({ type: SHUTTLE_STATUS_TYPE, level: 'warning' as const, message })),
    ];

    return {
      ...entity,
      metadata: {
        ...entity.metadata,
        annotations,
        ...(links.length ? { links } : {}),
      },
      spec,
      ...(items.length ? { status: { ...status, items } } : {}),
    };
  }
}
