import { useEffect, useMemo, useState } from 'react';
import MuiTextField from '@material-ui/core/TextField';
import { TextField } from '@backstage/ui';
import {
  discoveryApiRef,
  fetchApiRef,
  useApi,
} from '@backstage/frontend-plugin-api';
import { catalogApiRef } from '@backstage/plugin-catalog-react';
import type { FieldExtensionComponentProps } from '@backstage/plugin-scaffolder-react';
import { useScaffolderTheme } from '@backstage/plugin-scaffolder-react/alpha';
import { findServiceNameProblems, serviceNameRuleProblem } from './serviceName';

/** How long typing must pause before the catalog and git host are asked. */
export const LOOKUP_DELAY_MS = 400;

/**
 * `ui:field: ServiceNameField` — the golden path's service name. Checks the naming rules as
 * you type and, once the name is well formed, whether the catalog or the local git host
 * already has it; the same checks run as the field's validation before Review.
 */
export const ServiceNameField = (
  props: FieldExtensionComponentProps<string>,
) => {
  const {
    onChange,
    required,
    schema: { title = 'Name', description },
    rawErrors = [],
    formData,
    uiSchema,
    idSchema,
    placeholder,
  } = props;
  const theme = useScaffolderTheme();
  const catalogApi = useApi(catalogApiRef);
  const discoveryApi = useApi(discoveryApiRef);
  const fetchApi = useApi(fetchApiRef);
  const apis = useMemo(
    () => ({ catalogApi, discoveryApi, fetchApi }),
    [catalogApi, discoveryApi, fetchApi],
  );

  const value = formData ?? '';
  const [touched, setTouched] = useState(false);
  const [lookup, setLookup] = useState<{ name: string; problems: string[] }>();
  const ruleProblem = serviceNameRuleProblem(value);

  useEffect(() => {
    if (ruleProblem) return undefined;
    let cancelled = false;
    const timer = setTimeout(() => {
      findServiceNameProblems(value, apis).then(problems => {
        if (!cancelled) setLookup({ name: value, problems });
      });
    }, LOOKUP_DELAY_MS);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [value, ruleProblem, apis]);

  let problems: string[] = [];
  let status: string | undefined;
  if (ruleProblem) {
    if (touched || value !== '') problems = [ruleProblem];
  } else if (lookup?.name === value) {
    problems = lookup.problems;
    if (problems.length === 0) status = `'${value}' is free`;
  } else {
    status = `Checking whether '${value}' is free…`;
  }
  // Errors from the last Next/Review press are shown under the field by the form already.
  const shown = problems.filter(p => !rawErrors.includes(p));
  const invalid = problems.length > 0 || rawErrors.length > 0;
  const helper = shown.length > 0 ? shown.join(' · ') : status ?? description;

  const handleChange = (next: string) => {
    setTouched(true);
    onChange(next === '' ? undefined : next);
  };

  if (theme === 'bui') {
    return (
      <TextField
        id={idSchema?.$id}
        label={title}
        description={helper}
        secondaryLabel={required ? 'Required' : undefined}
        placeholder={placeholder}
        isRequired={required}
        value={value}
        onChange={handleChange}
        onBlur={() => setTouched(true)}
        isInvalid={invalid}
        // the template asks for it (`ui:autofocus`): the name is the first of five fields
        // eslint-disable-next-line jsx-a11y/no-autofocus
        autoFocus={uiSchema?.['ui:autofocus']}
      />
    );
  }
  return (
    <MuiTextField
      id={idSchema?.$id}
      label={title}
      placeholder={placeholder}
      helperText={helper}
      required={required}
      value={value}
      onChange={e => handleChange(e.target.value)}
      onBlur={() => setTouched(true)}
      margin="normal"
      error={invalid}
      inputProps={{ autoFocus: uiSchema?.['ui:autofocus'] }}
      FormHelperTextProps={{ margin: 'dense', style: { marginLeft: 0 } }}
    />
  );
};
