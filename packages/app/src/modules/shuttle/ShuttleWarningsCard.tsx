import { WarningPanel } from '@backstage/core-components';
import { useEntity } from '@backstage/plugin-catalog-react';
import { shuttleWarningsOf } from './shuttleWarnings';

/**
 * Warning card on the entity page: the repository's shuttle.yaml has something shuttle itself
 * refuses (e.g. an unknown top-level field), which the catalog ignored. Shown to everyone who
 * opens the entity, so the owner sees it where they look; nothing when there are no warnings.
 */
export function ShuttleWarningsCard() {
  const { entity } = useEntity();
  const warnings = shuttleWarningsOf(entity);
  if (warnings.length === 0) return null;
  return (
    <WarningPanel
      severity="warning"
      title={`shuttle.yaml: ${warnings.length} problem${warnings.length === 1 ? '' : 's'} shuttle would refuse`}
      message="The catalog read the file but ignored what is listed below; shuttle itself refuses unknown fields in its configuration. Fix shuttle.yaml in the repository."
      defaultExpanded
    >
      <ul data-testid="shuttle-warnings">
        {warnings.map(w => (
          <li key={w}>{w}</li>
        ))}
      </ul>
    </WarningPanel>
  );
}
