import { PackscopeError } from '../../../shared/errors.js';
import { ERR, ERROR_NAMES, commandName } from '../../../shared/protocol/constants.js';

/** A typed error the board answered with (PROTOCOL.md §4); `deviceCode` is the wire code. */
export class DeviceError extends PackscopeError {
  constructor(
    readonly deviceCode: number,
    readonly deviceMessage: string,
    readonly cmd: number,
  ) {
    const name = ERROR_NAMES[deviceCode] ?? `0x${deviceCode.toString(16)}`;
    super(
      deviceCode === ERR.REFUSED ? 'REFUSED' : deviceCode === ERR.VERIFY_FAILED ? 'VERIFY_FAILED' : 'DEVICE',
      `${commandName(cmd)}: device error ${name}: ${deviceMessage}`,
      {
        deviceCode,
        deviceError: name,
      },
    );
    this.name = 'DeviceError';
  }
}
