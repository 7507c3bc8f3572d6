// The HTTP request, response and transport types are part of this module's API (AWSClient takes a transport).
@_exported import HTTP
