/** The AWS Lambda function (Kinesis event source): entry point `handler`. See `handler.ts`. */
export type { LambdaApp, LambdaConfig } from './handler.js';
export { closeLambda, createLambdaApp, handler, lambdaConfigFromEnv } from './handler.js';
