import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'junction:public';

/** Lets a route through the global bearer-token guard (health, metrics, auth/token). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
