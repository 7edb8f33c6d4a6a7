import { discoveryApiRef, fetchApiRef } from '@backstage/frontend-plugin-api';
import { catalogApiRef } from '@backstage/plugin-catalog-react';
import type { CustomFieldValidator } from '@backstage/plugin-scaffolder-react';
import { findServiceNameProblems } from './serviceName';

/**
 * The `ServiceNameField` validation the scaffolder runs before it moves on to Review: the
 * naming rules, then that neither the catalog nor the local git host knows the name yet.
 * Every problem becomes a form error, so Create cannot be reached with a taken name.
 */
export const validateServiceName: CustomFieldValidator<string> = async (
  value,
  validation,
  { apiHolder },
) => {
  const catalogApi = apiHolder.get(catalogApiRef);
  const discoveryApi = apiHolder.get(discoveryApiRef);
  const fetchApi = apiHolder.get(fetchApiRef);
  if (!catalogApi || !discoveryApi || !fetchApi) {
    validation.addError(
      'Could not check whether the name is free: the catalog or git host is not available',
    );
    return;
  }
  const problems = await findServiceNameProblems(value, {
    catalogApi,
    discoveryApi,
    fetchApi,
  });
  for (const problem of problems) validation.addError(problem);
};
