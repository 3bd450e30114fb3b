// RegistrationError -> RPC 400 naming the offending field.
export class RegistrationError extends Error {
  readonly errors: string[];
  constructor(errors: string[]) {
    super(`invalid TaskManager registration: ${errors.join('; ')}`);
    this.name = 'RegistrationError';
    this.errors = errors;
  }
}
