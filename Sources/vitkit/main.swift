import ViTKitCLI
VitkitCommand.mainReadingConfigFile()
