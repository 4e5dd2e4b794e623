import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'junction:public';

/** Lets a route through the global bearer-token guard (health, metrics, auth/token). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

export const QUERY_TOKEN = 'junction:query-token';

/**
 * Also takes the bearer token from `?access_token=` (RFC 6750 §2.3), for clients that cannot set
 * headers: a browser's EventSource. Only for GET routes that stream; logs mask the value.
 */
export const QueryTokenAllowed = (): MethodDecorator => SetMetadata(QUERY_TOKEN, true);
