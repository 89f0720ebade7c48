// The CommonJS form: `require` under TypeScript's node16+ module resolution.
import bcrypt = require('bcrypt-offload')

export const check = async (): Promise<boolean> => bcrypt.compare('pw', await bcrypt.hash('pw', 4))
