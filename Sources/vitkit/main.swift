import ViTKitCLI
VitkitCommand.main()
