import CCPUCheck
import ViTKitCLI

// CCPUCheck's constructor has already refused a CPU without AVX2 or FMA; referencing it keeps it linked.
_ = vitkit_missing_cpu_feature
VitkitCommand.mainReadingConfigFile()
