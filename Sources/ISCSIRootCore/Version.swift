/// iscsi-rootd's version, as packaged (`packaging/arch/PKGBUILD` pkgver; a test keeps them equal).
public enum ISCSIRootVersion {
    public static let current = "0.1.0"
}
