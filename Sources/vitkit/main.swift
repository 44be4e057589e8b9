import CCPUCheck
import Foundation
import ViTKitCLI

// CCPUCheck's constructor has already refused a CPU without AVX2 or FMA; referencing it keeps it linked.
_ = vitkit_missing_cpu_feature
// A file over the size limit (ulimit -f) fails its write with EFBIG, which names the file, instead of killing
// the process with SIGXFSZ mid-epoch.
signal(SIGXFSZ, SIG_IGN)
VitkitCommand.mainReadingConfigFile()
