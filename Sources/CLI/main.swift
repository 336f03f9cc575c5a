import CommandSupport
import Scene

keepFreedMemoryForReuse()
await runCommandLine(Optimize.self, usage: "usage: optimize IN -o OUT.glb [options]   (see optimize --help)")
