// Errors the adapters map to HTTP statuses: JobValidationError -> 400
// {"errors": [...]}, JobNotFoundError -> 404.

export class JobValidationError extends Error {
  readonly errors: string[];
  constructor(errors: string[]) {
    super(`invalid JobGraph: ${errors.join('; ')}`);
    this.name = 'JobValidationError';
    this.errors = errors;
  }
}

export class JobNotFoundError extends Error {
  readonly jobId: string;
  constructor(jobId: string) {
    super(`Job ${jobId} not found`);
    this.name = 'JobNotFoundError';
    this.jobId = jobId;
  }
}
