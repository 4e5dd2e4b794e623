import { ValidateIf } from 'class-validator';

/**
 * An optional body field: may be left out, but null is checked like any other value (and so
 * refused by the type check), where class-validator's @IsOptional() would let null through
 * to a NOT NULL column.
 */
export const Optional = (): PropertyDecorator => ValidateIf((_object, value) => value !== undefined);
