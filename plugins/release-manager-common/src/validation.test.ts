import {
  FREEZE_OVERRIDE_REASON_MAX_LENGTH,
  PRODUCTION_FROZEN_ERROR,
} from './types';
import { invalidFreezeOverrideReason } from './validation';

describe('invalidFreezeOverrideReason', () => {
  it('accepts a non-blank reason up to the limit', () => {
    expect(invalidFreezeOverrideReason('the fix for INC-42')).toBeUndefined();
    expect(
      invalidFreezeOverrideReason(
        'x'.repeat(FREEZE_OVERRIDE_REASON_MAX_LENGTH),
      ),
    ).toBeUndefined();
  });

  it.each([[undefined], [''], ['   \n\t'], [42]])(
    'requires a reason (%j)',
    value => {
      expect(invalidFreezeOverrideReason(value)).toBe(
        'a reason is required to override a production freeze',
      );
    },
  );

  it('refuses a reason longer than the server accepts', () => {
    expect(invalidFreezeOverrideReason('x'.repeat(501))).toBe(
      'the freeze override reason is too long: at most 500 characters',
    );
  });

  it('names the error of a frozen refusal as the server does', () => {
    expect(PRODUCTION_FROZEN_ERROR).toBe('ProductionFrozenError');
  });
});
